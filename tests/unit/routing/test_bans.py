from llamanet.routing.bans import Ban, BanList, next_ban


def test_ban_doubles_with_each_failure_in_a_row_up_to_the_cap() -> None:
    bans = BanList(base_s=1.0, cap_s=5.0)
    lengths = [bans.fail("u", now=100.0).until - 100.0 for _ in range(5)]
    assert lengths == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_banned_until_the_ban_ends() -> None:
    bans = BanList(base_s=2.0)
    bans.fail("u", now=10.0)
    assert bans.is_banned("u", 11.9)
    assert not bans.is_banned("u", 12.0)
    assert not bans.is_banned("other", 11.0)
    assert bans.snapshot(11.0) == {"u": 1.0}
    assert bans.snapshot(12.0) == {}


def test_failures_after_a_ban_expires_still_count_until_a_success() -> None:
    bans = BanList(base_s=1.0)
    bans.fail("u", 0.0)
    assert bans.fail("u", 50.0).until == 52.0  # second failure in a row: 2 s even though the first expired
    bans.succeed("u")
    assert not bans.is_banned("u", 50.5)
    assert bans.until("u") == 0.0
    assert bans.fail("u", 60.0).until == 61.0  # forgiven: back to the base


def test_next_ban_is_pure() -> None:
    assert next_ban(None, 5.0, base_s=3.0, cap_s=60.0) == Ban(1, 8.0)
    assert next_ban(Ban(3, 0.0), 5.0, base_s=3.0, cap_s=60.0) == Ban(4, 29.0)
