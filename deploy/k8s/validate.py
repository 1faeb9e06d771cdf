"""Offline check of the Kubernetes manifests in this folder (run by ``make check``).

1. ``kustomize build`` of the folder (what ``kubectl apply -k`` sends), then on that:
   - **kubeconform** (strict: an unknown or misspelt field is an error) against the
     Kubernetes JSON schemas that ``kubernetes-validate`` bundles (for
     :data:`KUBERNETES_VERSION`) and, for KEDA's ScaledObject and TriggerAuthentication,
     ``schemas/<kind>_v1alpha1.json`` (written from KEDA's documented spec);
   - **kube-score** (a linter: probes, security context, PDBs, network policies, pinned
     image tags, resources), every warning an error.
   The tools are built once with Go by ``deploy/tools/go-tool.sh`` (pinned versions, the
   Go module proxy only).
2. The same schemas again from Python on each file (``kubernetes_validate`` and
   ``jsonschema``), whose messages name the file, and each kafka trigger's metadata.
3. The project's rules (``rules.py``): each container runs an existing service, channel
   worker or the console, or (a Job) an existing ``billing`` command, and sets only
   settings it reads, ``<PREFIX>MODE=production``; every pod is restricted (seccomp
   RuntimeDefault, non-root, read-only root, no capabilities, no service-account token),
   has requests and limits, probes with explicit timings, a PodDisruptionBudget and
   zone/host spread; each channel worker has a ScaledObject on its topic and group with
   an authenticationRef; the image version is set once; the connection budget fits
   (``budget.py``).

No network but the Go module proxy (a tool's first build). ``python deploy/k8s/validate.py
[folder]``; exit 1 with one line per problem.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import budget  # noqa: E402
import rules  # noqa: E402

ROOT = HERE.parents[1]
KUBERNETES_VERSION = "1.33.0"
CORE_KINDS = {
    "Namespace",
    "ConfigMap",
    "PersistentVolumeClaim",
    "Deployment",
    "Service",
    "Secret",
    "Job",
    "PodDisruptionBudget",
    "NetworkPolicy",
}
CRD_SCHEMAS = {
    "ScaledObject": "scaledobject_v1alpha1.json",
    "TriggerAuthentication": "triggerauthentication_v1alpha1.json",
}
KUBE_SCORE_ARGS = [
    "--output-format",
    "ci",
    "--exit-one-on-warning",
    "--kubernetes-version",
    "v" + ".".join(KUBERNETES_VERSION.split(".")[:2]),
    "--enable-optional-test",
    "container-seccomp-profile",
    # it knows podAntiAffinity only; the spread is topologySpreadConstraints on the host
    # (and zone), which rules.availability checks
    "--ignore-test",
    "deployment-has-host-podantiaffinity",
]

SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader where PyYAML has it (the same documents, a third of the check's time)."""


def documents(folder: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted(folder.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in yaml.load_all(path.read_text(), Loader=SAFE_LOADER):
            if doc:
                yield path.name, doc


def tool(name: str) -> str:
    """The pinned tool's binary (built on first use)."""
    done = subprocess.run(  # noqa: S603 (our own script, a fixed tool name)
        ["bash", str(ROOT / "deploy/tools/go-tool.sh"), name],  # noqa: S607 (bash from PATH)
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"deploy/tools/go-tool.sh {name} failed:\n{done.stderr}")
    return done.stdout.strip().splitlines()[-1]


def kubernetes_schemas() -> Path:
    """kubernetes-validate's schemas, made loadable by kubeconform (once, under .local):
    their ``$id`` and ``/api/_definitions.json`` references point at a web address;
    here they point at the file beside them."""
    source = (
        Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / f"v{KUBERNETES_VERSION}-local-strict"
    )
    version = getattr(kubernetes_validate, "__version__", "?")
    target = ROOT / ".local/tools/k8s-schemas" / f"{version}-v{KUBERNETES_VERSION}-strict"
    if not (target / ".complete").exists():
        target.mkdir(parents=True, exist_ok=True)
        for path in source.glob("*.json"):
            schema = json.loads(path.read_text())
            schema.pop("$id", None)
            text = json.dumps(schema).replace('"/api/_definitions.json#', '"_definitions.json#')
            (target / path.name).write_text(text)
        (target / ".complete").write_text("")
    return target


def render(folder: Path) -> tuple[str, list[str]]:
    command = [tool("kustomize"), "build", str(folder)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 (the pinned tool)
    if done.returncode != 0:
        return "", [f"kustomize build {folder}: {done.stderr.strip()}"]
    return done.stdout, []


def tool_problems(rendered: str) -> list[str]:
    problems = []
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", prefix="billing-k8s-") as out:
        out.write(rendered)
        out.flush()
        conform = subprocess.run(  # noqa: S603 (the pinned tool on our own file)
            [
                tool("kubeconform"),
                "-strict",
                "-summary",
                "-output",
                "text",
                "-kubernetes-version",
                KUBERNETES_VERSION,
                "-schema-location",
                f"{kubernetes_schemas()}/{{{{ .ResourceKind }}}}{{{{ .KindSuffix }}}}.json",
                "-schema-location",
                f"{HERE}/schemas/{{{{ .ResourceKind }}}}_{{{{ .ResourceAPIVersion }}}}.json",
                out.name,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if conform.returncode != 0:
            lines = (conform.stdout + conform.stderr).splitlines()
            problems += [
                f"kubeconform: {line.replace(out.name + ' - ', '')}" for line in lines if "Summary" not in line
            ]
        score = subprocess.run(  # noqa: S603 (the pinned tool on our own file)
            [tool("kube-score"), "score", *KUBE_SCORE_ARGS, out.name], capture_output=True, text=True, check=False
        )
        if score.returncode != 0:
            lines = [line for line in score.stdout.splitlines() if line.startswith(("[CRITICAL]", "[WARNING]"))]
            problems += [f"kube-score: {line}" for line in lines or score.stderr.splitlines() or ["failed"]]
    return problems


def schema_problems(docs: list[tuple[str, dict[str, Any]]]) -> list[str]:
    problems: list[str] = []
    crd = {kind: json.loads((HERE / "schemas" / name).read_text()) for kind, name in CRD_SCHEMAS.items()}
    kafka_schema = crd["ScaledObject"]["$defs"]["kafkaMetadata"]
    for name, doc in docs:
        kind = doc.get("kind", "?")
        where = f"{name}: {kind} {doc.get('metadata', {}).get('name', '?')}"
        if kind in CORE_KINDS:
            try:
                kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
            except kubernetes_validate.ValidationError as exc:
                path = "/".join(str(p) for p in exc.path)
                problems.append(f"{where}: {path}: {exc.message}")
        elif kind in crd:
            for error in jsonschema.Draft202012Validator(crd[kind]).iter_errors(doc):
                problems.append(f"{where}: {'/'.join(str(p) for p in error.path)}: {error.message}")
            for trigger in doc.get("spec", {}).get("triggers", []):
                if trigger.get("type") == "kafka":
                    for error in jsonschema.Draft202012Validator(kafka_schema).iter_errors(trigger.get("metadata", {})):
                        problems.append(f"{where}: kafka metadata: {error.message}")
        else:
            problems.append(f"{where}: no schema for kind {kind!r}")
    return problems


def check(folder: Path = HERE, *, tools: bool = True) -> list[str]:
    docs = list(documents(folder))
    problems = schema_problems(docs)
    by_kind: rules.Kinds = {}
    for _, doc in docs:
        by_kind.setdefault(doc.get("kind", "?"), {})[doc.get("metadata", {}).get("name", "?")] = doc
    kafka = by_kind.get("ConfigMap", {}).get("billing-kafka", {}).get("data", {}).get("bootstrap-servers")
    if kafka is None:
        problems.append("ConfigMap billing-kafka with bootstrap-servers is missing")
    found, workers = rules.deployments(by_kind)
    problems += found + rules.scaling(by_kind, workers, kafka) + rules.jobs(by_kind, folder)
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    problems += rules.image_pin(yaml.safe_load((folder / "kustomization.yaml").read_text()), version)
    try:
        problems += budget.problems([d for _, d in docs])
    except (KeyError, ValueError) as exc:
        problems.append(f"connection budget: {exc}")
    if tools:
        rendered, failed = render(folder)
        problems += failed or tool_problems(rendered)
    return problems


def main(argv: list[str]) -> int:
    folder = Path(argv[1]) if len(argv) > 1 else HERE
    problems = check(folder)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    count = len(list(documents(folder)))
    print(
        f"{folder}: {count} manifests valid (kustomize build, kubeconform and kube-score on Kubernetes "
        f"{KUBERNETES_VERSION} schemas, KEDA ScaledObject/TriggerAuthentication, project rules, connection budget)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
