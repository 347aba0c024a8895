"""Memories shown to the chat model from its side: the user's "I" becomes "you"."""

from __future__ import annotations

import pytest

from daemon.turn.perspective import said_back, second_person
from daemon.turn.prompt import EPISODES_HEADER, memories_block


@pytest.mark.parametrize("said, shown", [
    ("我对虾过敏，吃了会起疹子。", "你对虾过敏，吃了会起疹子。"),
    ("我们家住在青岛，咱们小区很大", "你们家住在青岛，你们小区很大"),
    ("I'm allergic to shellfish.", "You're allergic to shellfish."),
    ("I am a nurse and I was born in Cork.", "You are a nurse and you were born in Cork."),
    ("My daughter Mia plays the violin with me.", "Your daughter Mia plays the violin with you."),
    ("We've got two cats; our vet is nice.", "You've got two cats; your vet is nice."),
    ("Likes green tea", "Likes green tea"),  # an English fact without a subject stays
    # a Chinese one is the user's and says so
    ("名字叫王丽", "你名字叫王丽"), ("女儿朵朵六岁（2026年）", "你女儿朵朵六岁（2026年）"),
    ("她喜欢画画", "她喜欢画画"), ("2025年在老家买了房", "2025年在老家买了房"),
    ("Is an iPhone user, Mike said", "Is an iPhone user, Mike said"),
])
def test_first_person_is_said_back_as_you(said: str, shown: str) -> None:
    assert second_person(said) == shown


def test_the_prompt_shows_memories_in_the_second_person() -> None:
    facts = [{"memory": "不吃香菜", "created_at": "2026-11-20T10:00:00"}]
    episodes = [{"memory": "I work as a bus driver.", "created_at": "2026-11-21T10:00:00"}]
    assert memories_block(facts, episodes, token_budget=1000) == [
        "[2026-11-20]", "- 你不吃香菜", EPISODES_HEADER, "[2026-11-21]",
        "- You work as a bus driver."]


SHOWN = ["[2026-03-02]", "- 你对芒果过敏", "- 你老家是湖南长沙", "Earlier, the user told you:",
         "- [2026-11-20] 你在一家医院当护士。", "[2026-02-22]", "- Supports Celtic",
         "- Favourite band is Arctic Monkeys", "- Civil engineer", "- Likes jazz"]


@pytest.mark.parametrize("answer, asked, spoken", [
    # The user's memory said as the assistant's own: turned to "you".
    ("我对芒果过敏。", "我对什么水果过敏？", "你对芒果过敏。"),
    ("我老家是湖南长沙。", "我老家在哪？", "你老家是湖南长沙。"),
    ("我在一家医院当护士。", "我是做什么的？", "你在一家医院当护士。"),
    ("I support Celtic.", "Which team do I support?", "You support Celtic."),
    ("I am a civil engineer.", "What do I do?", "You are a civil engineer."),
    ("My favourite band is Arctic Monkeys.", "What's my favourite band?",
     "Your favourite band is Arctic Monkeys."),
    # Only the memory's words turn: the assistant's own "我" outside them stays.
    ("我对芒果过敏，我可以帮你找别的水果。", "我对什么过敏？", "你对芒果过敏，我可以帮你找别的水果。"),
    ("我记得你对芒果过敏。", "我对什么过敏？", "我记得你对芒果过敏。"),
    # Not a memory, or more than it: left as said.
    ("I dislike olives.", "What do I dislike?", "I dislike olives."),
    ("I like jazz too!", "Do I like jazz?", "I like jazz too!"),
    ("我也喜欢湖南菜。", "我老家在哪？", "我也喜欢湖南菜。"),
    # The user asked about the assistant, not about themselves.
    ("I like jazz.", "Do you like jazz?", "I like jazz."),
    ("我老家是湖南长沙。", "你老家在哪？", "我老家是湖南长沙。"),
])
def test_a_memory_said_back_as_the_assistants_own_is_spoken_as_you(
        answer: str, asked: str, spoken: str) -> None:
    assert said_back(answer, asked, SHOWN) == spoken


OTHER_WORDS = ["[2026-03-02]", "- 你在中学教数学", "- 你名字叫王丽", "- Works as a nurse at a hospital",
               "- Can't stand olives"]


@pytest.mark.parametrize("answer, asked, spoken", [
    # The memory in other words, as the assistant's own: the whole sentence turns.
    ("我是数学老师。", "我是做什么工作的？", "你是数学老师。"),
    ("I am a nurse.", "What do I do for work?", "You are a nurse."),
    ("I dislike olives.", "What food do I dislike?", "You dislike olives."),
    ("My job is at a hospital.", "Where do I work?", "Your job is at a hospital."),
    # How the assistant speaks of itself, or of the user already: left as said.
    ("我可以给你推荐几本数学书。", "我是做什么工作的？", "我可以给你推荐几本数学书。"),
    ("我的名字叫小智。", "我叫什么名字？", "我的名字叫小智。"),
    ("我不太清楚你的工作。", "我是做什么工作的？", "我不太清楚你的工作。"),
    ("I think you are a nurse.", "What do I do?", "I think you are a nurse."),
    ("I'm not sure about the hospital.", "Where do I work?", "I'm not sure about the hospital."),
    ("I like olives too.", "Do I like olives?", "I like olives too."),
    # Nothing shared with a memory.
    ("我喜欢下雨天。", "我喜欢什么天气？", "我喜欢下雨天。"),
    ("I love cycling.", "What do I like?", "I love cycling."),
])
def test_a_memory_in_other_words_said_as_the_assistants_own_is_spoken_as_you(
        answer: str, asked: str, spoken: str) -> None:
    assert said_back(answer, asked, OTHER_WORDS) == spoken
