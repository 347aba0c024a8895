"""Chat LLM backends: local GGUF (llama-cpp-python), OpenAI-compatible HTTP, scripted."""

from daemon.llm.base import ChatLLM, ChatMessage, LLMError, LLMTimeout

__all__ = ["ChatLLM", "ChatMessage", "LLMError", "LLMTimeout"]
