from llamanet.engine.textstream import TextStream


def feed_all(ts: TextStream, pieces: list[bytes]) -> str:
    return "".join(ts.feed(p) for p in pieces) + ts.flush()


def test_plain_text_passes_through() -> None:
    ts = TextStream()
    assert ts.feed(b"Hello") == "Hello"
    assert ts.feed(b" world") == " world"
    assert ts.flush() == ""


def test_multibyte_character_split_across_tokens() -> None:
    data = "héllo 世界 🦙".encode()
    pieces = [data[i : i + 1] for i in range(len(data))]
    ts = TextStream()
    outs = [ts.feed(p) for p in pieces]
    assert "".join(outs) + ts.flush() == "héllo 世界 🦙"
    assert all("\ufffd" not in o for o in outs)


def test_stop_string_inside_one_piece() -> None:
    ts = TextStream(["STOP"])
    assert ts.feed(b"abcSTOPdef") == "abc"
    assert ts.stopped
    assert ts.feed(b"more") == ""
    assert ts.flush() == ""


def test_stop_string_across_pieces_is_held_back() -> None:
    ts = TextStream(["<end>"])
    assert ts.feed(b"hi <e") == "hi "
    assert ts.feed(b"n") == ""
    assert ts.feed(b"d> tail") == ""
    assert ts.stopped


def test_false_alarm_prefix_is_released() -> None:
    ts = TextStream(["<end>"])
    assert ts.feed(b"a <e") == "a "
    assert ts.feed(b"x") == "<ex"
    assert ts.feed(b" <en") == " "
    assert ts.flush() == "<en"


def test_earliest_of_several_stops_wins() -> None:
    ts = TextStream(["zz", "b"])
    assert feed_all(ts, [b"aab", b"zz"]) == "aa"


def test_empty_stop_strings_are_ignored() -> None:
    assert feed_all(TextStream(["", "x"]), [b"abc"]) == "abc"
