"""--shard i/n: disjoint shares of a space's keys that together are all of them."""

import pytest

from profiler.shard import parse_shard, shard_keys
from search.space import get_space


def test_shards_partition_the_keys():
    keys = get_space("fbnet-cifar").keys()
    shares = [shard_keys(keys, i, 3) for i in (1, 2, 3)]
    assert sorted(k for s in shares for k in s) == sorted(keys)
    assert [len(s) for s in shares] == [37, 37, 37]
    assert shard_keys(list(reversed(keys)), 2, 3) == shares[1]  # independent of the order given
    assert shard_keys(keys, 1, 1) == sorted(keys)


@pytest.mark.parametrize("text", ["0/3", "4/3", "a/b", "3", "1/0"])
def test_bad_shards(text):
    with pytest.raises(ValueError, match="bad --shard"):
        parse_shard(text)
