"""Every command in README.md is exercised: by the checks here (the files it names exist, each
``tools/*.py`` it calls accepts ``--help`` and knows every flag the README gives it, each
shell script parses), and by a named test or CI for running it; the README stays short and
its links resolve."""
import glob
import json
import os
import os.path as osp
import re
import shlex
import socket
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
README = osp.join(REPO, 'README.md')
MAX_LINES = 250

#: Where each shell script the README runs is run for real (test node ids or CI).
SCRIPTS_RUN_BY = {
    'tools/run_demo.sh': 'tests/test_tools/test_readme.py::test_run_demo_script_trains',
    'tools/run_tests.sh': '.ci/run',
    'tools/build_docs.sh': '.ci/run',
    'tools/setup_env.sh': 'tests/test_tools/test_setup_profiles.py',
    'tools/dist_train.sh':
        'tests/test_tools/test_readme.py::test_dist_train_script_runs_two_cpu_processes',
}
#: Commands that are not the project's: the shell's own.
FOREIGN = {'source', 'cd', 'export'}
PATH_RE = re.compile(r'^(configs|tools|requirements|docs|tests|dense_ssl_mm)/')


def readme_commands(text):
    """The commands of the README: each line of its ``bash`` blocks (continuations joined,
    comments dropped) and each inline code span that starts like a command.

    Returns:
        list[list[str]]: one token list per command, environment assignments included.
    """
    commands = []
    for block in re.findall(r'```bash\n(.*?)```', text, flags=re.S):
        for line in block.replace('\\\n', ' ').splitlines():
            line = line.split(' #')[0].strip()
            if line and not line.startswith('#'):
                commands.append(shlex.split(line))
    prose = re.sub(r'```.*?```', '', text, flags=re.S)
    for span in re.findall(r'`([^`\n]+)`', prose):
        tokens = shlex.split(span)
        words = [t for t in tokens if '=' not in t.split('/')[0]]
        if words and words[0] in ('bash', 'python'):
            commands.append(tokens)
    return commands


def split_command(tokens):
    """``(env, program, script, args)`` of a command: leading ``NAME=value`` assignments, the
    interpreter, the script it runs (or None) and the rest."""
    env = {}
    while tokens and re.match(r'^[A-Z_]+=', tokens[0]):
        name, value = tokens[0].split('=', 1)
        env[name] = value
        tokens = tokens[1:]
    program, rest = tokens[0], tokens[1:]
    script = rest[0] if program in ('bash', 'python') and rest else None
    return env, program, script, rest[1:] if script else rest


@pytest.fixture(scope='module')
def commands():
    with open(README) as f:
        return [split_command(c) for c in readme_commands(f.read())]


def test_readme_commands_are_found():
    """The parser finds commands in blocks (joining continuations) and in inline code."""
    text = ('```bash\npython tools/a.py X \\\n    --flag 1   # note\n# only a comment\n```\n'
            'run `DEMO=configs/x.py bash tools/b.sh --work-dir D` or `.venv/bin/python`\n')
    assert [split_command(c) for c in readme_commands(text)] == [
        ({}, 'python', 'tools/a.py', ['X', '--flag', '1']),
        ({'DEMO': 'configs/x.py'}, 'bash', 'tools/b.sh', ['--work-dir', 'D'])]


def test_readme_is_short():
    with open(README) as f:
        lines = f.read().splitlines()
    assert len(lines) <= MAX_LINES, f'README.md has {len(lines)} lines, at most {MAX_LINES}'


def test_readme_runs_only_project_scripts_and_known_commands(commands):
    assert commands, 'README.md: no command found'
    for env, program, script, _ in commands:
        if program in FOREIGN:
            continue
        assert program in ('bash', 'python'), f'README.md: unexpected command {program!r}'
        assert script and script.startswith('tools/'), \
            f'README.md: {program} {script!r}: expected a script under tools/'


def glob_exists(pattern):
    return bool(glob.glob(osp.join(REPO, pattern)))


def test_every_path_the_readme_names_exists(commands):
    missing = []
    for env, program, script, args in commands:
        for token in [script or '', *env.values(), *args]:
            token = token.split('=', 1)[-1]
            if PATH_RE.match(token) and not (
                    glob_exists(token) if '*' in token else osp.exists(osp.join(REPO, token))):
                missing.append(token)
    assert not missing, f'README.md names paths that do not exist: {missing}'


def test_shell_scripts_parse_and_are_run_somewhere(commands):
    scripts = sorted({s for _, program, s, _ in commands if program == 'bash'})
    assert scripts, 'README.md runs no shell script'
    for script in scripts:
        proc = subprocess.run(['bash', '-n', osp.join(REPO, script)], capture_output=True,
                              text=True)
        assert proc.returncode == 0, f'{script}: {proc.stderr}'
        assert script in SCRIPTS_RUN_BY, \
            f'README.md runs {script}, which no test or CI runs: add one to SCRIPTS_RUN_BY'
    for script, where in SCRIPTS_RUN_BY.items():
        path, _, name = where.partition('::')
        with open(osp.join(REPO, path)) as f:
            body = f.read()
        assert (f'def {name}(' in body) if name else script in body, where


def test_python_tools_take_help_and_know_every_flag_the_readme_gives(commands):
    """One interpreter runs ``--help`` of every tool (each exits 0 and prints its usage);
    each flag the README passes to a tool must be in that tool's help, and the tool must be
    run by some test."""
    flags = {}
    for _, program, script, args in commands:
        if program == 'python':
            flags.setdefault(script, set()).update(
                a.split('=')[0] for a in args if a.startswith('--'))
    code = ('import contextlib, io, json, runpy, sys\n'
            'out = {}\n'
            'for tool in sys.argv[1:]:\n'
            '    buf = io.StringIO()\n'
            '    sys.argv = [tool, "--help"]\n'
            '    try:\n'
            '        with contextlib.redirect_stdout(buf):\n'
            '            runpy.run_path(tool, run_name="__main__")\n'
            '        status = "no exit"\n'
            '    except SystemExit as e:\n'
            '        status = e.code\n'
            '    out[tool] = [status, buf.getvalue()]\n'
            'print("@@" + json.dumps(out))\n')
    proc = subprocess.run([sys.executable, '-c', code, *sorted(flags)], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    helps = json.loads(proc.stdout.rsplit('@@', 1)[1])
    tests_text = '\n'.join(open(osp.join(root, f)).read()
                           for root, _, files in os.walk(osp.join(REPO, 'tests'))
                           for f in files if f.endswith('.py') and f != 'test_readme.py')
    for tool, wanted in sorted(flags.items()):
        status, text = helps[tool]
        assert status in (0, None) and 'usage:' in text, f'{tool} --help: exit {status}'
        unknown = [f for f in sorted(wanted) if not re.search(rf'(?<![\w-]){f}(?![\w-])', text)]
        assert not unknown, f'README.md passes {unknown} to {tool}, whose --help lacks them'
        assert osp.basename(tool) in tests_text, f'no test runs {tool}'


def _slug(title):
    """The anchor MkDocs' toc gives a heading."""
    title = re.sub(r'[^\w\s-]', '', title.strip().lower())
    return re.sub(r'[\s]+', '-', title)


def test_readme_links_resolve():
    with open(README) as f:
        text = f.read()
    bad = []
    for target in re.findall(r'\]\(([^)\s]+)\)', text):
        if re.match(r'^[a-z]+://', target):
            continue
        path, _, anchor = target.partition('#')
        full = osp.join(REPO, path)
        if not osp.exists(full):
            bad.append(target)
        elif anchor:
            with open(full) as f:
                headings = re.findall(r'^#+ (.+)$', f.read(), flags=re.M)
            if anchor not in {_slug(h) for h in headings}:
                bad.append(target)
    assert not bad, f'README.md links to missing files or headings: {bad}'


def _venv_python():
    return sys.executable


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_run_demo_script_trains(tmp_path):
    """``bash tools/run_demo.sh --work-dir DIR`` (the README's first command, its set-up step
    skipped: the set-up is what test_setup_profiles.py runs on a fresh venv) trains the demo
    and writes its checkpoint."""
    env = dict(os.environ, DSSL_SKIP_SETUP='1',
               DSSL_VENV=osp.dirname(osp.dirname(_venv_python())))
    proc = subprocess.run(
        ['bash', 'tools/run_demo.sh', '--work-dir', str(tmp_path),
         '--cfg-options', 'train_cfg.max_iters=4', 'default_hooks.checkpoint.interval=4'],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert osp.isfile(tmp_path / 'iter_4.pth'), os.listdir(tmp_path)


@pytest.mark.slow
def test_dist_train_script_runs_two_cpu_processes(tmp_path):
    """``bash tools/dist_train.sh CONFIG 2`` on a CPU: torchrun starts two processes, which
    form a gloo group and train the demo config together."""
    env = dict(os.environ, PYTHON=_venv_python(), PORT=str(_free_port()), OMP_NUM_THREADS='1')
    proc = subprocess.run(
        ['bash', 'tools/dist_train.sh', 'configs/demo/pixpro_r18_demo.py', '2', '--work-dir',
         str(tmp_path), '--cfg-options', 'train_cfg.max_iters=2',
         'default_hooks.checkpoint.interval=2', 'train_dataloader.batch_size=2'],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert osp.isfile(tmp_path / 'iter_2.pth'), os.listdir(tmp_path)
