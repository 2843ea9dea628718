"""The pure prefix rule: keys of leading text, rendezvous order, bounded loads."""

from collections import Counter

from llamanet.routing.prefix import (
    PREFIX_OFF,
    Load,
    PrefixPolicy,
    boundary_keys,
    chat_text,
    choose,
    content_text,
    deeper_elsewhere,
    has_room,
    held_depth,
    prefix_key,
    ranked,
    within_bound,
)

NODES = [f"{i:02x}" * 20 for i in range(8)]
KEYS = [prefix_key(f"system prompt of tenant {i} " * 40, 512) for i in range(2000)]


def test_short_prefixes_are_ignored_and_the_key_is_the_first_min_chars() -> None:
    assert prefix_key("x" * 511, 512) is None
    assert prefix_key("x" * 512, 512) == prefix_key("x" * 512 + "anything after", 512)
    assert prefix_key("x" * 512, 512) != prefix_key("y" + "x" * 511, 512)
    assert PrefixPolicy(min_chars=512).key("x" * 100) is None
    assert PREFIX_OFF.key("x" * 10_000) is None and PrefixPolicy().key(None) is None
    assert prefix_key("\ud800" * 600, 512) is not None  # a lone surrogate from JSON is no crash


def test_chat_text_keeps_roles_apart_and_shares_a_system_prompt() -> None:
    system = ("system", "You are a careful assistant. " * 30)
    first = chat_text([system, ("user", "What is 2+2?")])
    later = chat_text([system, ("user", "What is 2+2?"), ("assistant", "4"), ("user", "And 3+3?")])
    other_user = chat_text([system, ("user", "Name a color.")])
    assert prefix_key(first, 512) == prefix_key(later, 512) == prefix_key(other_user, 512)
    assert chat_text([("user", "ab")]) != chat_text([("u", "serab")])
    assert len(chat_text([("user", "x" * 600)] * 100, limit=512)) < 1300  # stops once long enough


def test_content_text_reads_strings_and_text_parts() -> None:
    assert content_text("hi") == "hi" and content_text(None) == "" and content_text(3) == ""
    assert content_text([{"type": "text", "text": "a"}, {"type": "image_url"}, {"text": "b"}]) == "ab"


def test_ranking_is_stable_and_only_a_leaving_nodes_keys_move() -> None:
    before = {k: ranked(k, NODES)[0] for k in KEYS if k}
    gone = NODES[3]
    after = {k: ranked(k, [n for n in NODES if n != gone])[0] for k in before}
    moved = {k for k in before if before[k] != after[k]}
    assert moved == {k for k in before if before[k] == gone}  # exactly the leaving node's keys
    assert all(after[k] == ranked(k, NODES)[1] for k in moved)  # each to its second choice
    owners = Counter(before.values())
    assert len(owners) == len(NODES) and min(owners.values()) > 2000 / len(NODES) / 2  # spread out


def test_a_joining_node_takes_only_keys_it_now_owns() -> None:
    before = {k: ranked(k, NODES[:7])[0] for k in KEYS if k}
    after = {k: ranked(k, NODES)[0] for k in before}
    assert all(after[k] in (before[k], NODES[7]) for k in before)


def test_the_owner_is_skipped_above_the_bound_and_taken_within_it() -> None:
    key = KEYS[0]
    assert key is not None
    owner, second, third = ranked(key, NODES[:3])
    idle = [Load(n, 0, 4) for n in (owner, second, third)]
    assert choose(key, idle, 0.25) == owner
    busy_owner = [Load(owner, 2, 4), Load(second, 0, 4), Load(third, 0, 4)]
    assert choose(key, busy_owner, 0.25) == second  # 3 requests with this one vs an average of 1
    assert choose(key, busy_owner, 2.0) == owner  # a looser bound keeps it
    balanced = [Load(owner, 4, 4), Load(second, 4, 4), Load(third, 4, 4)]
    assert choose(key, balanced, 0.25) == owner  # equal loads: the owner keeps its prefix
    assert choose(key, [], 0.25) is None


def test_slots_weigh_the_bound_and_one_node_always_fits() -> None:
    big, small = Load("big", 6, 16), Load("small", 2, 2)
    assert within_bound(big, [big, small], 0.25) and not within_bound(small, [big, small], 0.25)
    for loads in ([3, 0, 9], [0, 0, 0], [7, 7, 7], [1, 100, 0]):
        pool = [Load(n, r, 4) for n, r in zip(NODES, loads, strict=False)]
        assert any(within_bound(p, pool, 0.0) for p in pool)
        assert choose("k", pool, 0.0) is not None
    assert within_bound(Load("only", 50, 1), [Load("only", 50, 1)], 0.0)  # a lone node always fits


def test_a_full_owner_is_skipped_while_another_node_has_a_free_slot() -> None:
    key = KEYS[0]
    assert key is not None
    owner, second = ranked(key, NODES[:2])
    # 6 requests in flight on 2 nodes of 4 slots: the bound alone (1.25 x 7 / 2 -> 5) keeps the full owner
    full_owner = [Load(owner, 4, 4), Load(second, 2, 4)]
    assert within_bound(full_owner[0], full_owner, 0.25)
    assert not has_room(full_owner[0]) and has_room(full_owner[1])
    assert choose(key, full_owner, 0.25) == second
    everyone_full = [Load(owner, 4, 4), Load(second, 4, 4)]
    assert choose(key, everyone_full, 0.25) == owner  # no slot free anywhere: the prefix decides again
    unknown = [Load(owner, 9, 0), Load(second, 0, 4)]
    assert has_room(unknown[0])  # slots unknown: only the bound applies


def test_boundary_keys_hash_each_message_boundary_and_a_chats_turns_share_them() -> None:
    chat = [("system", "be brief"), ("user", "hello"), ("assistant", "hi"), ("user", "more")]
    keys = boundary_keys(chat)
    assert len(keys) == 4 and len(set(keys)) == 4 and all(len(k) == 16 for k in keys)
    assert boundary_keys(chat[:2]) == keys[:2]  # an earlier turn's keys are a prefix of the next's
    assert boundary_keys([("user", "be brief"), *chat[1:]])[0] != keys[0]  # roles count
    assert boundary_keys([("system", [{"type": "text", "text": "be brief"}])]) == keys[:1]
    assert len(boundary_keys([("user", str(i)) for i in range(200)])) == 64  # the deepest 64


def test_held_depth_is_the_deepest_boundary_held() -> None:
    keys = boundary_keys([("system", "s"), ("user", "a"), ("assistant", "b"), ("user", "c")])
    assert held_depth(keys, set()) == 0
    assert held_depth(keys, {keys[1]}) == 2 and held_depth(keys, {keys[0], keys[3]}) == 4
    # another node may hold more only of a chat with an earlier turn this node did not serve whole
    assert deeper_elsewhere(keys, 0) and deeper_elsewhere(keys, 1) and not deeper_elsewhere(keys, 2)
    assert not deeper_elsewhere(keys[:2], 0)  # a first turn: nobody served an earlier one


def test_among_the_nodes_that_fit_the_one_holding_the_most_wins() -> None:
    key = KEYS[0]
    assert key is not None
    owner, second, third = ranked(key, NODES[:3])
    pool = [Load(owner, 1, 4), Load(second, 1, 4, depth=2), Load(third, 1, 4, depth=3)]
    assert choose(key, pool, 0.25) == third
    assert choose(key, [Load(owner, 1, 4), Load(second, 1, 4, depth=2)], 0.25) == second
    # the deepest above the bound (no free slot while others have one) is skipped for the next deepest
    pool = [Load(owner, 1, 4), Load(second, 1, 4, depth=2), Load(third, 4, 4, depth=3)]
    assert choose(key, pool, 0.25) == second
    # equal depths: rendezvous order, as without holdings
    assert choose(key, [Load(n, 1, 4, depth=1) for n in (owner, second, third)], 0.25) == owner
