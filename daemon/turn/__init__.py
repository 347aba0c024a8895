"""One conversation turn: memory lookup -> prompt -> streamed LLM -> sentences."""

from daemon.turn.runner import TurnContext, TurnResult, TurnRunner

__all__ = ["TurnContext", "TurnResult", "TurnRunner"]
