"""Prompt assembly and the memory token budget."""

from __future__ import annotations

from datetime import date

from daemon.turn.prompt import (
    build_messages,
    estimate_tokens,
    memories_block,
    memory_line,
    newest_lines,
    next_turn_opening,
    reply_language_line,
)


def test_memories_fit_the_budget() -> None:
    mems = [{"memory": f"fact number {i} about the user"} for i in range(20)]
    assert len(memories_block(mems[:5], [], token_budget=1000)) == 5
    lines = memories_block(mems, [], token_budget=30)
    assert 1 <= len(lines) < 5
    assert sum(estimate_tokens(x) for x in lines) <= 30


def test_facts_newest_first_then_episodes_within_the_budget() -> None:
    facts = [{"memory": "Lives in Berlin", "updated_at": "2026-01-02T10:00:00"},
             {"memory": "Lives in Munich", "updated_at": "2026-05-03T10:00:00"}]
    episodes = [{"memory": "I just got back from the Alps", "kind": "episode",
                 "created_at": "2026-05-04T09:00:00"}]
    lines = memories_block(facts, episodes, token_budget=1000, dates="line")
    assert lines == ["- [2026-05-03] Lives in Munich", "- [2026-01-02] Lives in Berlin",
                     "Earlier, the user told you:", "- [2026-05-04] You just got back from the Alps"]
    # Facts come first: a tight budget drops the episodes, not the facts.
    assert memories_block(facts, episodes, token_budget=20, dates="line") == lines[:2]


def test_each_date_is_said_once_above_its_memories() -> None:
    facts = [{"memory": "Lives in Berlin", "created_at": "2026-01-02T10:00:00"},
             {"memory": "Works as a nurse", "created_at": "2026-05-03T08:00:00"},
             {"memory": "Lives in Munich", "updated_at": "2026-05-03T10:00:00"},
             {"memory": "No date"}]
    episodes = [{"memory": "I just got back from the Alps", "created_at": "2026-05-04T09:00:00"}]
    assert memories_block(facts, episodes, token_budget=1000) == [
        "[2026-05-03]", "- Lives in Munich", "- Works as a nurse",
        "[2026-01-02]", "- Lives in Berlin", "[no date]", "- No date",
        "Earlier, the user told you:", "[2026-05-04]", "- You just got back from the Alps"]
    # Without this year's number, on every line.
    assert memories_block(facts[:2], [], token_budget=1000, dates="short",
                          today=date(2026, 11, 30)) == [
        "- [05-03] Works as a nurse", "- [01-02] Lives in Berlin"]
    # A tight budget never leaves a date without its memory.
    tight = memories_block(facts, [], token_budget=14)
    assert tight and tight[-1].startswith("- ")


def test_chinese_counts_about_one_token_per_character() -> None:
    assert estimate_tokens("我住在上海") == 5
    assert estimate_tokens("abcd" * 10) == 10


def test_system_prompt_gets_memories_history_and_date() -> None:
    msgs = build_messages(
        "Mem:\n<memory>\n{memories}\n</memory>\nToday {today}.",
        ["- Lives in Berlin"],
        [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"},
         {"role": "system", "content": "ignored"}],
        "where do I live?", no_memories="(none)", today=date(2026, 11, 25),
    )
    assert msgs[0] == {"role": "system",
                       "content": "Mem:\n<memory>\n- Lives in Berlin\n</memory>\nToday 2026-11-25."}
    # The last system message names the language to answer in.
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "system", "user"]
    assert msgs[-2]["content"] == "Answer in English."
    assert msgs[-1]["content"] == "where do I live?"
    empty = build_messages("{memories}", [], [], "x", no_memories="(none)")
    assert empty[0]["content"] == "(none)"


def test_memory_lines_carry_the_date_last_noted() -> None:
    created = "2026-10-01T08:00:00+00:00"
    assert memory_line({"memory": "Lives in Berlin", "created_at": created,
                        "updated_at": created}) == "- [2026-10-01] Lives in Berlin"
    assert memory_line({"memory": "住在上海", "created_at": created,
                        "updated_at": "2026-11-20T09:00:00+00:00"}) == "- [2026-11-20] 你住在上海"
    assert memory_line({"memory": "No date"}) == "- No date"


def test_memories_go_last_so_the_dialogue_before_them_stays_cached() -> None:
    from daemon.config import PromptsConfig

    p = PromptsConfig()
    history = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    first = build_messages(p.system, ["- [2026-11-25] Lives in Berlin"], history, "where?",
                           no_memories=p.no_memories, memory_template=p.memory,
                           today=date(2026, 11, 25))
    assert [m["role"] for m in first] == ["system", "user", "assistant", "system", "user"]
    assert "<memory>\n- [2026-11-25] Lives in Berlin\n</memory>" in first[3]["content"]
    assert "</memory>\nAnswer the user as \"you\" (你)." in first[3]["content"]
    assert "{" not in first[0]["content"] and "2026-11-25" in first[0]["content"]
    # The next turn starts with the same messages: only the memories and new words differ.
    later = build_messages(p.system, ["- [2026-11-20] Likes tea"],
                           [*history, {"role": "user", "content": "where?"},
                            {"role": "assistant", "content": "Berlin."}], "and what do I like?",
                           no_memories=p.no_memories, memory_template=p.memory,
                           today=date(2026, 11, 25))
    assert later[:3] == first[:3]


def test_the_language_to_answer_in_is_read_from_the_users_words() -> None:
    assert reply_language_line("我对什么过敏？") == ""  # Chinese is answered in Chinese
    assert reply_language_line("我的Python老师叫什么") == ""
    assert reply_language_line("What am I allergic to?") == "Answer in English."
    assert reply_language_line("Do you know 周杰伦?") == "Answer in English."
    assert reply_language_line("¿Dónde vivo ahora?") == (
        "Answer in the language of the user's last message, not in Chinese.")
    assert reply_language_line("...") == ""


def test_the_language_line_ends_the_last_system_message() -> None:
    from daemon.config import PromptsConfig

    p = PromptsConfig()
    msgs = build_messages(p.system, ["- [2026-11-25] 你住在杭州"], [], "Where do I live?",
                          no_memories=p.no_memories, memory_template=p.memory)
    assert msgs[-2]["role"] == "system" and msgs[-2]["content"].endswith(
        '(你).\nAnswer in English.')
    off = build_messages(p.system, [], [], "Where do I live?", no_memories=p.no_memories,
                         memory_template=p.memory, reply_language=False)
    assert off[-2]["content"].endswith('(你).')


def test_the_newest_facts_take_at_most_half_the_budget_and_open_the_memory_message() -> None:
    newest = [{"memory": f"Fact number {i} about the user", "created_at": f"2026-11-{20 - i}"}
              for i in range(10)]
    lines = newest_lines(newest, token_budget=60)
    assert lines[:2] == ["[2026-11-20]", "- Fact number 0 about the user"]
    assert sum(estimate_tokens(line) for line in lines) <= 30
    template = "Memories:\n<memory>\n{memories}\n</memory>"
    opening = next_turn_opening("System.", [], memory_template=template, known=lines)
    full = build_messages("System.", [*lines, "- Found for the words"], [], "Hi?",
                          no_memories="-", memory_template=template)
    assert opening is not None and full[1]["content"].startswith(opening[-1]["content"])
