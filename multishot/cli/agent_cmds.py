"""`multishot direct` (logline → shot list) and `multishot check` (continuity gates).

Thin, like the rest of the CLI: parse flags, call plan/agent, print with rich.
Exit codes: 0 ok (warnings may be printed), 2 invalid input or an error-severity finding.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from multishot.cli.output import EXIT_FAILED, EXIT_INVALID, EXIT_OK, err, out
from multishot.post.atomic import atomic_path, atomic_write_text


class _DoesNotLoad(Exception):
    """The shot list `direct` wrote does not load back (a bug): the temp file is dropped."""


def parse_characters(value: str) -> list[tuple[str, str]]:
    """`Mara`, `Mara, Tomas`, `mara=a woman in a yellow raincoat, silver braid` or
    `Mara: a woman…` → [(name, description)]. Commas separate names only when no description
    is given (descriptions have commas of their own)."""
    for sep in ("=", ":"):
        if sep in value:
            name, description = value.split(sep, 1)
            return [(name.strip(), description.strip())]
    return [(name.strip(), "") for name in value.split(",") if name.strip()]


def direct(
    logline: str = typer.Argument(..., help="One or two sentences: who wants what, where."),
    output: Path = typer.Option(Path("film.yaml"), "--output", "-o", help="Where to write the shot list."),
    characters: Optional[list[str]] = typer.Option(
        None, "--characters", "-c",
        help="Characters as `Mara, Tomas` or one as `name=description` (repeatable). Descriptions are used verbatim."),
    shots: int = typer.Option(8, "--shots", "-n", min=1, max=60, help="Number of shots."),
    duration: Optional[float] = typer.Option(None, "--duration", "-d", min=0.5,
                                             help="Film length in seconds (default: 3 s a shot)."),
    title: Optional[str] = typer.Option(None, "--title", help="Title (default: from the logline)."),
    style: Optional[str] = typer.Option(None, "--style", help="Global look (default: chosen from the logline)."),
    resolution: Optional[str] = typer.Option(None, "--resolution", help="WIDTHxHEIGHT (default 832x480)."),
    fps: Optional[int] = typer.Option(None, "--fps", min=1, max=120, help="Frames per second (default 16)."),
    seed: Optional[int] = typer.Option(None, "--seed", min=0, help="Film seed (default 7)."),
    rounds: int = typer.Option(3, "--rounds", min=0, max=10, help="Most critique → revise rounds."),
    llm: Optional[str] = typer.Option(
        None, "--llm",
        help="`local`: start a local GGUF model server (needs multishot[llm]; --llm-model PATH.gguf or a named model, default smollm2-135m), stopped afterwards. Or an OpenAI-compatible URL (as --llm-base-url)."),
    llm_base_url: Optional[str] = typer.Option(None, "--llm-base-url", help="An OpenAI-compatible endpoint; default is the offline rule-based planner."),
    llm_model: Optional[str] = typer.Option(None, "--llm-model", help="The model name at that endpoint (with --llm local: a .gguf path, a named model, or hf:OWNER/REPO/FILE.gguf@COMMIT from the Hugging Face Hub). Key: MULTISHOT_LLM_API_KEY or OPENAI_API_KEY."),
    llm_threads: Optional[int] = typer.Option(None, "--llm-threads", min=1, max=256, help="--llm local: CPU threads (default: the usable cores, at most 4)."),
    llm_ctx: Optional[int] = typer.Option(None, "--llm-ctx", min=512, max=131072, help="--llm local: context tokens (default 8192)."),
    llm_timeout: Optional[float] = typer.Option(
        None, "--llm-timeout", min=1.0,
        help="Seconds a model request may take (default: 300 s for the first, then twice what the answer takes at the measured tokens/s)."),
    llm_critic: Optional[bool] = typer.Option(
        None, "--llm-critic/--no-llm-critic",
        help="With a model: the critic also asks it for notes beyond the gates (one call a round, warnings; asked again only after a round with a usable note). Default: on, off for the default local model (smollm2-135m)."),
    llm_revise: Optional[bool] = typer.Option(
        None, "--llm-revise/--no-llm-revise",
        help="With a model: it revises the shot list after the critic's findings (else the gates' own fixes do). Default: on, off for the default local model (smollm2-135m)."),
    transcript: Optional[Path] = typer.Option(None, "--transcript", help="Also write the roles' transcript (JSON) here."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing output file."),
) -> None:
    """Write a complete shot list from a logline: screenwriter → director → cinematographer,
    then the continuity critic and a bounded revise loop. Offline and deterministic by default."""
    from multishot.plan.agent import Brief, RulePlanner, close_planner, direct as run_direct, film_to_yaml
    from multishot.shotlist.loader import load_film

    if output.exists() and not force:
        err.print(f"[bold red]error:[/] {output} exists; use --force to overwrite")
        raise typer.Exit(EXIT_INVALID)
    brief = Brief(logline=logline, characters=tuple(c for value in characters or [] for c in parse_characters(value)),
                  shots=shots, duration=duration, title=title, style=style, resolution=resolution, fps=fps,
                  seed=seed)
    problems = brief.problems()
    if problems:
        for p in problems:
            err.print(f"[bold red]error:[/] {p}", highlight=False)
        raise typer.Exit(EXIT_INVALID)
    planner = _planner(llm or llm_base_url, llm_model, timeout=llm_timeout, model_critic=llm_critic,
                       model_revise=llm_revise, ctx=llm_ctx, threads=llm_threads)
    fallback = None if isinstance(planner, RulePlanner) else RulePlanner()
    try:
        _start(planner)
        _say_choices(planner, rounds, critic_flag=llm_critic, revise_flag=llm_revise)
        result = run_direct(brief, planner, rounds=rounds, fallback=fallback)
    finally:  # the local server stops on every way out, Ctrl-C included
        close_planner(planner)
    header = (f"written by `multishot direct` ({provenance_line(result)}) from the logline:\n"
              f"{' '.join(logline.split())}")
    try:
        with atomic_path(output) as tmp:  # the shot list appears only once it is known to load
            tmp.write_text(film_to_yaml(result.film, header), encoding="utf-8")
            try:
                load_film(tmp)  # the promise: what we write loads
            except Exception as error:  # pragma: no cover - a bug, not a user error
                raise _DoesNotLoad(error) from error
    except _DoesNotLoad as error:
        err.print(f"[bold red]internal error:[/] the written shot list does not load: {error}")
        raise typer.Exit(EXIT_FAILED)
    if transcript is not None:
        atomic_write_text(transcript, json.dumps(result.to_json(), indent=1, ensure_ascii=False))
    film = result.film
    n = sum(len(s.shots) for s in film.scenes)
    from multishot.cli.output import clean

    out.print(f"[green]wrote[/] {clean(output)} — “{clean(film.title)}”, {len(film.scenes)} scenes, {n} shots, "
              f"{brief.seconds:g}s ({clean(provenance_line(result))}; {result.rounds} revision round(s))",
              highlight=False)
    fell_back = result.fallbacks()
    if fell_back:
        err.print(f"[bold yellow]warning:[/] the model's answer was not used for {clean(', '.join(fell_back))}: "
                  f"the rule planner wrote {'it' if len(fell_back) == 1 else 'them'} "
                  f"(see --transcript for the model's replies)", highlight=False)
    replaced = result.replaced()
    if replaced:
        n = sum(t["model"] + t["rules"] for t in replaced.values())
        asked = sum(t["model"] for t in replaced.values())
        rules = n - asked
        counts = ", ".join(f"{role} {t['model'] + t['rules']} of {t['written']}" for role, t in replaced.items())
        err.print(f"[bold yellow]warning:[/] {n} of the model's texts could not go into the film as written "
                  f"({clean(counts)}; e.g. {clean('; '.join(result.replaced_examples()))}): "
                  f"{asked} written again by the model asked for each alone, {rules} by the rule planner; "
                  f"the model's structure is kept (see --transcript)", highlight=False)
    for note in result.notes:
        err.print(f"[bold yellow]note:[/] {clean(note)}", highlight=False)
    _print_usage(result.usage)
    if result.findings:
        _print_findings(result.findings, str(output))
    out.print(f"next: multishot render {output} --paradigm agent+keyframe", highlight=False)


def _planner(base_url: Optional[str], model: Optional[str], **options: object) -> "Planner":  # type: ignore[name-defined]  # noqa: F821
    """make_planner, with a missing local server or model as a user error (exit 2)."""
    from multishot.plan.agent import make_planner
    from multishot.plan.agent.local_server import LocalModelError

    try:
        return make_planner(base_url, model, **options)  # type: ignore[arg-type]
    except LocalModelError as error:
        err.print(f"[bold red]error:[/] {error}", highlight=False)
        raise typer.Exit(EXIT_INVALID)


def _start(planner: object) -> None:
    """Start the local model server before any role asks (a failure is an error, not a silent
    fallback) and say what runs."""
    from multishot.cli.output import clean
    from multishot.plan.agent.local_server import LocalModelError

    server = getattr(planner, "server", None)
    if server is None:
        return
    try:
        planner.start()  # type: ignore[attr-defined]
    except LocalModelError as error:
        err.print(f"[bold red]error:[/] {clean(str(error))}", highlight=False)
        raise typer.Exit(EXIT_INVALID)
    err.print(f"local model {clean(server.name)} ({server.path.stat().st_size / 1e6:.0f} MB) loaded in "
              f"{server.load_seconds:.1f} s: {server.threads} thread(s), {server.ctx}-token context, 127.0.0.1",
              highlight=False)


def _say_choices(planner: object, rounds: int, *, critic_flag: Optional[bool], revise_flag: Optional[bool]) -> None:
    """Say who answers the critic's findings and whether the model critic runs, and why: the
    defaults depend on the model (llm.SMALL_MODELS), so a run must say which were taken."""
    from multishot.cli.output import clean

    choice = getattr(planner, "choice", None)
    if choice is not None and not choice.rewrite and choice.rewrite_why:
        err.print(f"texts of the model's answers the film cannot use: the rule planner's words stand in "
                  f"(default for {clean(str(planner.model))}: {clean(choice.rewrite_why)})",  # type: ignore[attr-defined]
                  highlight=False)
    if choice is None or rounds == 0:
        return
    revise = "the model" if planner.model_revise else "the gates' own fixes (the rule planner's reviser)"  # type: ignore[attr-defined]
    from multishot.plan.agent.schemas import max_tokens

    critic = (f"on (one request a round for at most {rounds} round(s), answers of at most "
              f"{max_tokens('critic', 5)} tokens; not asked again after a round without a usable note)"
              if planner.model_critic else "off")  # type: ignore[attr-defined]
    given = [name for name, flag in (("--llm-revise", revise_flag), ("--llm-critic", critic_flag)) if flag is not None]
    defaulted = revise_flag is None or critic_flag is None
    why = ""
    if defaulted and choice.why:
        why = (f"; default for {clean(str(planner.model))}: {clean(choice.why)} "  # type: ignore[attr-defined]
               f"(--llm-revise / --llm-critic ask the model anyway)")
    elif given:
        why = f" ({', '.join(given)} as given)"
    err.print(f"findings answered by {revise}; model critic {critic}{why}", highlight=False)


def check(
    file: Path = typer.Argument(..., help="A shot-list YAML file."),
    budget: Optional[float] = typer.Option(None, "--budget", min=0.1, help="Duration budget in seconds to check against."),
    allow: Optional[list[str]] = typer.Option(
        None, "--allow", help="Exempt a rule (`jump-cut`) or a rule at a shot or scene (`establishing:cold-open`); repeatable."),
    as_json: bool = typer.Option(False, "--json", help="Print the findings as JSON lines."),
    strict: bool = typer.Option(False, "--strict", help="Fail (exit 2) on warnings too, for CI."),
) -> None:
    """Run the continuity gates on a shot list: 180-degree rule, character presence, jump cuts,
    establishing shots, descriptions, duration budget. Each finding names the shot and the rule;
    exit code 2 when any is an error; warnings alone exit 0, unless --strict."""
    from multishot.cli.main import _print_problems
    from multishot.plan.agent import RULES, GateOptions, check_film
    from multishot.shotlist.errors import ShotListError
    from multishot.shotlist.loader import load_film

    try:
        film = load_film(file)
    except ShotListError as error:
        _print_problems(error, as_json)
        raise typer.Exit(EXIT_INVALID)
    unknown = [a for a in allow or [] if a.split(":", 1)[0] not in RULES]
    if unknown:
        err.print(f"[bold red]error:[/] unknown rule in --allow: {', '.join(unknown)}; rules: {', '.join(RULES)}")
        raise typer.Exit(EXIT_INVALID)
    findings = check_film(film, GateOptions(budget=budget, allow=frozenset(allow or [])))
    if as_json:
        for f in findings:
            sys.stdout.write(json.dumps(f.to_json()) + "\n")
    elif findings:
        _print_findings(findings, str(file))
    else:
        out.print(f"[green]ok[/]: {file} — no continuity findings ({len(RULES)} rules checked)", highlight=False)
    failing = findings if strict else [f for f in findings if f.severity == "error"]
    if failing and strict and not as_json and not any(f.severity == "error" for f in findings):
        err.print(f"[bold red]failed[/] (--strict): {len(failing)} warning(s)", highlight=False)
    raise typer.Exit(EXIT_INVALID if failing else EXIT_OK)


def _print_findings(findings: list, source: str) -> None:  # type: ignore[type-arg]
    from multishot.cli.output import clean, finding_lines

    if finding_lines(findings, source):  # not a terminal: one `file:line: field: …` line each
        return
    n_err = sum(1 for f in findings if f.severity == "error")
    table = Table(title=f"{clean(source)}: {n_err} error(s), {len(findings) - n_err} warning(s)", show_lines=False)
    for col in ("severity", "rule", "shot", "finding"):
        table.add_column(col, overflow="fold")
    for f in findings:
        colour = "red" if f.severity == "error" else "yellow"
        table.add_row(f"[{colour}]{f.severity}[/]", clean(f.rule), clean(f.shot_id), clean(f.message))
    out.print(table)


def provenance_line(result: "AgentResult") -> str:  # type: ignore[name-defined]  # noqa: F821
    return result.describe()


def _print_usage(usage: dict[str, dict[str, int]]) -> None:
    if not any(u.get("total_tokens") for u in usage.values()):
        return
    # Roles that asked the model (the gates' runs and the rules' answers cost no tokens).
    parts = [f"{role} {u['calls']} calls / {u['total_tokens']} tokens"
             + (f" / {u['seconds']:.1f} s" if u.get("seconds") else "")
             + (f" ({u['completion_tokens'] / u['seconds']:.1f} tok/s)" if u.get("seconds") and u.get("completion_tokens") else "")
             for role, u in usage.items() if u.get("calls") and (u.get("total_tokens") or u.get("errors"))]
    out.print("usage: " + "; ".join(parts), highlight=False)


def register(app: typer.Typer) -> None:
    app.command("direct")(direct)
    app.command("check")(check)
