"""The columnar tensor table (archlint.checkpoint.TensorTable): a sequence of rows over six
columns, as the header reader, the cache and the tensor index hold a checkpoint's tensors."""

from __future__ import annotations

from archlint.checkpoint import TensorInfo, TensorTable, pack_ints, unpack_ints
from archlint.source.safetensors_header import encode_header, parse_safetensors_prefix

ROWS = [TensorInfo("a.weight", "BF16", (4, 2), "s1", 0, 16),
        TensorInfo("b.weight", "F32", (3,), "s1", 16, 28),
        TensorInfo("c.bias", "F8_E4M3", (), "s2", 0, 1)]


def test_rows_read_back_the_columns_and_keep_their_objects() -> None:
    table = TensorTable(["a", "b"], ["F16", "U8"], [(2,), (3, 1)], ["x", None], [0, 4], [4, 7])
    assert len(table) == 2 and table[0] is table[0] and table[-1] is table[1]
    assert (table[1].name, table[1].dtype, table[1].shape, table[1].shard) == ("b", "U8", (3, 1),
                                                                               None)
    assert table[1].nbytes == 3  # 3 x 1 elements of 8 bits
    assert list(table) == [table[0], table[1]] and table.rows()[0] is table[0]


def test_a_table_of_rows_keeps_the_row_objects_and_equals_the_list() -> None:
    table = TensorTable.of(ROWS)
    assert all(table[i] is ROWS[i] for i in range(3))
    assert table == ROWS and ROWS.__eq__(table) is NotImplemented  # list defers to the table
    assert table == TensorTable.of(list(ROWS))
    assert table != ROWS[:2] and TensorTable.of([]) == [] and table != [1, 2, 3]


def test_concat_keeps_shard_order_and_with_shard_renames() -> None:
    joined = TensorTable.concat([ROWS[:2], ROWS[2:]])
    assert joined.names == ["a.weight", "b.weight", "c.bias"]
    assert joined.shards == ["s1", "s1", "s2"]
    assert TensorTable.of(ROWS).with_shard("sub/m.safetensors").shards == ["sub/m.safetensors"] * 3


def test_columns_round_trip_through_json_columns() -> None:
    table = TensorTable.of(ROWS)
    data = table.to_columns({"s1": 0, "s2": 1})
    # three distinct dtypes, three distinct shapes, shards as ids
    assert data["dtype_table"] == ["BF16", "F32", "F8_E4M3"]
    assert unpack_ints(data["shards"]) == [0, 0, 1] and data["ends"] == [16, 28, 1]
    assert data["shape_table"] == [[4, 2], [3], []]
    assert TensorTable.from_columns(data, ["s1", "s2"]) == table


def test_id_columns_pack_as_one_byte_each() -> None:
    packed = pack_ints([0, 1, 255])
    assert packed == {"u8": "AAH/"}  # bytes 00 01 ff in base64
    assert unpack_ints(packed) == [0, 1, 255]
    for plain in ([-1, 2], [256], [None]):  # kept as JSON lists
        assert pack_ints(plain) is plain


def test_a_parsed_header_is_a_table_of_its_entries() -> None:
    """encode_header places tensors at consecutive offsets: 4x2 BF16 = 16 bytes, 3 F32 = 12."""
    head, _ = encode_header([TensorInfo("a.weight", "BF16", (4, 2)),
                             TensorInfo("b.weight", "F32", (3,))])
    parsed = parse_safetensors_prefix(head + bytes(28), file_name="m.safetensors",
                                      file_size=len(head) + 28)
    assert isinstance(parsed.tensors, TensorTable) and parsed.problems == []
    assert parsed.tensors.starts == [0, 16] and parsed.tensors.ends == [16, 28]
    assert parsed.tensors.shards == ["m.safetensors"] * 2 and parsed.tensors[0].shape == (4, 2)
