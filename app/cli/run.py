"""``hearth run MODEL "prompt"``: stream one reply to stdout."""

from __future__ import annotations

import argparse
import signal
import sys


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("run", help="generate a reply to a prompt")
    parser.add_argument("model", help="a model id from 'hearth ls', or a path to a .gguf file")
    parser.add_argument("prompt", help="the prompt ('-' reads it from standard input)")
    parser.add_argument("--system", default="", help="system prompt (chat mode)")
    parser.add_argument("--mode", choices=("auto", "chat", "completion"), default="auto")
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--temperature", type=float, default=None)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--ctx", type=int, default=4096, help="context length to load with")
    parser.add_argument("--stats", action="store_true", help="print token statistics to stderr")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from app.backend.core import HearthCore
    from app.backend.engine.client import EngineLoadError
    from app.backend.engine.types import Failed, GenerationRequest, TokenChunk
    from app.backend.gguf import GGUFError
    from app.backend.library import ModelNotFound
    from app.backend.prompting import PromptError, prompt_builder_for
    from app.cli.output import fail

    prompt = sys.stdin.read() if args.prompt == "-" else args.prompt
    core = HearthCore()
    try:
        model = core.library.resolve(args.model)
    except ModelNotFound as exc:
        return fail(str(exc))
    if model.error:
        return fail(model.error)
    sampling = core.settings.sampling_defaults
    sampling.max_tokens = args.max_tokens
    if args.temperature is not None:
        sampling.temperature = args.temperature
    if args.seed is not None:
        sampling.seed = args.seed
    handle = None

    def interrupt(_signum: int, _frame: object) -> None:
        if handle is not None:
            handle.cancel()

    try:
        params, _plan = core.engines.plan(model, {"n_ctx": args.ctx})
        engine = core.engines.load(model, params)
        builder = prompt_builder_for(model.path, engine.status.info)
        mode = builder.mode if args.mode == "auto" else args.mode
        rendered = builder.render(
            [{"role": "user", "content": prompt}],
            system_prompt=args.system,
            mode=mode,
            completion_style="raw",
        )
        sampling.stop = [*sampling.stop, *rendered.stop]
        request = GenerationRequest(rendered.text, sampling, add_bos=not rendered.starts_with_bos)
        previous = signal.signal(signal.SIGINT, interrupt)
        handle = engine.submit(request)
        final = None
        for event in handle.events():
            if isinstance(event, TokenChunk):
                sys.stdout.write(event.text)
                sys.stdout.flush()
            else:
                final = event
        signal.signal(signal.SIGINT, previous)
        sys.stdout.write("\n")
        if isinstance(final, Failed):
            return fail(final.message)
        if args.stats and final is not None:
            s = final.stats
            print(
                f"{s.completion_tokens} tokens, {s.tokens_per_second:.1f} tok/s, "
                f"first token {s.time_to_first_token_s * 1000:.0f} ms, stop: {final.stop_reason}",
                file=sys.stderr,
            )
        return 0
    except (EngineLoadError, PromptError, GGUFError) as exc:
        return fail(str(exc))
    finally:
        core.close()
