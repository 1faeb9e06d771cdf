"""Jobs from the command line: follow one with a progress bar until it ends, and
``billing jobs show`` / ``billing jobs list`` for any service's jobs.

Commands that start a job (POST answering 202 + ``Location``) call :func:`follow`."""

from __future__ import annotations

import time
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from billing_cli.http import call, client, dump

app = typer.Typer(no_args_is_help=True, help="Long work run as jobs: progress, state, result.")
PORTS = {"customers": 8001, "invoicing": 8002, "reminders": 8003, "dispatch": 8004}
Service = Annotated[str, typer.Option("--service", "-s", help="customers | invoicing | reminders | dispatch")]
Lang = Annotated[str, typer.Option("--lang", help="fi | en")]
Json = Annotated[bool, typer.Option("--json", help="print the API's JSON")]

_STATES = {
    "fi": {"queued": "jonossa", "running": "käynnissä", "done": "valmis", "failed": "epäonnistui"},
    "en": {"queued": "queued", "running": "running", "done": "done", "failed": "failed"},
}


def service_client(service: str) -> httpx.Client:
    if service not in PORTS:
        raise typer.BadParameter(f"unknown service {service!r}; one of {', '.join(PORTS)}")
    return client(service, PORTS[service])


def describe(job: dict[str, Any], lang: str = "fi") -> str:
    """One line: id, kind, state, done / total, failures, result or error."""
    state = _STATES.get(lang, _STATES["en"]).get(job["state"], job["state"])
    total = job["total"] if job["total"] is not None else "?"
    failures = "virheitä" if lang == "fi" else "failures"
    text = f"{job['id']}  {job['kind']:<32} {state:<11} {job['done']}/{total}  {failures} {job['failures']}"
    if job["result"]:
        text += "  " + ", ".join(f"{k} {v}" for k, v in sorted(job["result"].items()))
    if job["error"]:
        text += f"  ({job['error']})"
    return text


def follow(
    c: httpx.Client, url: str, lang: str = "fi", *, poll_s: float = 0.5, console: Console | None = None
) -> dict[str, Any]:
    """Poll the job at ``url`` and show a progress bar until it is done or failed.
    Returns the last state; exits 1 if the job failed."""
    console = console or Console(stderr=True)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[failures]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        job: dict[str, Any] = call(c, "GET", url, lang)
        bar = progress.add_task(job["kind"], total=job["total"], failures="")
        while True:
            failures = f"{'virheitä' if lang == 'fi' else 'failures'} {job['failures']}" if job["failures"] else ""
            progress.update(bar, completed=job["done"], total=job["total"], failures=failures)
            if job["state"] in ("done", "failed"):
                break
            time.sleep(poll_s)
            job = call(c, "GET", url, lang)
    typer.echo(describe(job, lang))
    if job["state"] == "failed":
        raise typer.Exit(1)
    return job


def started(c: httpx.Client, response: dict[str, Any], lang: str, *, wait: bool) -> None:
    """What a command that started a job prints: its URL, then (with ``wait``) its progress."""
    typer.echo(f"{c.base_url.join(response['url'])}")
    if wait:
        follow(c, response["url"], lang)


@app.command()
def show(
    job_id: str,
    service: Service = "customers",
    wait: Annotated[bool, typer.Option("--wait", help="follow it with a progress bar until it ends")] = False,
    lang: Lang = "fi",
    as_json: Json = False,
) -> None:
    """One job: state, done / total, failures, result."""
    with service_client(service) as c:
        if wait:
            follow(c, f"/jobs/{job_id}", lang)
            return
        job = call(c, "GET", f"/jobs/{job_id}", lang)
    dump(job) if as_json else typer.echo(describe(job, lang))


@app.command("list")
def list_jobs(
    *,
    service: Service = "customers",
    kind: Annotated[str | None, typer.Option(help="only jobs of this kind")] = None,
    state: Annotated[str | None, typer.Option(help="queued | running | done | failed")] = None,
    limit: int = 20,
    lang: Lang = "fi",
    as_json: Json = False,
) -> None:
    """A service's jobs, newest first."""
    params: dict[str, Any] = {"limit": limit}
    if kind:
        params["kind"] = kind
    if state:
        params["state"] = state
    with service_client(service) as c:
        jobs = call(c, "GET", "/jobs", lang, params=params)
    if as_json:
        dump(jobs)
        return
    for job in jobs:
        typer.echo(describe(job, lang))
