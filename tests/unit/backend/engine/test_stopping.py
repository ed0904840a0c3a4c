from app.backend.engine.stopping import StopStringMatcher


def feed_all(matcher: StopStringMatcher, pieces: list[str]) -> str:
    out = "".join(matcher.feed(p) for p in pieces)
    return out + matcher.flush()


def test_no_stop_strings_passes_text_through() -> None:
    assert feed_all(StopStringMatcher([]), ["a", "b", "c"]) == "abc"


def test_stop_string_split_across_tokens_is_never_shown() -> None:
    matcher = StopStringMatcher(["\nUser:"])
    shown = [matcher.feed(p) for p in ["Hello", " there", "\nUs", "er:", " more"]]
    assert "".join(shown) == "Hello there"
    assert matcher.stopped
    assert matcher.flush() == ""


def test_held_back_prefix_is_released_when_it_does_not_complete() -> None:
    matcher = StopStringMatcher(["###"])
    assert matcher.feed("a#") == "a"
    assert matcher.feed("#b") == "##b"
    assert not matcher.stopped


def test_partial_prefix_released_at_end() -> None:
    matcher = StopStringMatcher(["STOP"])
    assert matcher.feed("xST") == "x"
    assert matcher.flush() == "ST"


def test_earliest_of_several_stop_strings_wins() -> None:
    matcher = StopStringMatcher(["world", "lo"])
    assert matcher.feed("hello world") == "hel"
    assert matcher.stopped
