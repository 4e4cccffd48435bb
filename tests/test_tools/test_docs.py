"""The documentation covers what the package registers, stands alone (nothing points outside
the repository), and its generated API reference lists every package. The site itself is
built strictly by CI (``bash tools/build_docs.sh`` in ``.ci/run``)."""
import glob
import importlib.util
import os
import os.path as osp
import pkgutil
import re


REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DOCS = osp.join(REPO, 'docs')
SKIP_DIRS = {'.git', '.venv', 'site', 'work_dirs', 'data', '__pycache__', 'build', 'dist'}


def _read(path):
    with open(path, encoding='utf-8') as f:
        return f.read()


def test_every_registered_algorithm_has_a_page():
    """Each registered algorithm (collected from the registry) is named (``type='X'``) on a
    page under docs/methods/ that the methods overview links to."""
    from dense_ssl_mm.models.algorithms import DenseAlgorithm
    from dense_ssl_mm.registry import MODELS
    types = sorted(name for name, cls in MODELS.module_dict.items()
                   if isinstance(cls, type) and issubclass(cls, DenseAlgorithm))
    assert {'PixPro', 'NeCo', 'DetConB', 'Distill'} <= set(types), types
    pages = {p: _read(p) for p in glob.glob(osp.join(DOCS, 'methods', '*.md'))}
    overview = _read(osp.join(DOCS, 'methods', 'index.md'))
    missing = []
    for name in types:
        found = [p for p, text in pages.items()
                 if f"type='{name}'" in text and not p.endswith('index.md')]
        if not found or not any(f'({osp.basename(p)})' in overview for p in found):
            missing.append(name)
    assert not missing, (f'no page under docs/methods/ says type=\'X\' (linked from '
                         f'docs/methods/index.md) for {missing}')


def test_every_method_page_shows_its_demo_pictures():
    """Each method page shows the held-out curves of a demo (``configs/demo/expected/``,
    made by ``tools/make_doc_figures.sh``), and every picture it names exists."""
    expected = osp.join(REPO, 'configs', 'demo', 'expected')
    for page in sorted(glob.glob(osp.join(DOCS, 'methods', '*.md'))):
        if page.endswith('index.md'):
            continue
        names = re.findall(r'\(\.\./expected/([^)]+\.png)\)', _read(page))
        assert any(n.endswith('_curves.png') for n in names), f'{page} shows no demo curves'
        missing = [n for n in names if not osp.isfile(osp.join(expected, n))]
        assert not missing, f'{page} shows pictures that do not exist: {missing}'


def test_every_registered_protocol_has_a_page():
    from dense_ssl_mm.registry import PROTOCOLS
    PROTOCOLS.import_from_location()
    names = sorted(PROTOCOLS.module_dict)
    assert {'correspondence', 'hummingbird', 'health'} <= set(names), names
    missing = [n for n in names if not osp.isfile(osp.join(DOCS, 'protocols', f'{n}.md'))]
    assert not missing, f'no docs/protocols/<name>.md for the protocols {missing}'
    nav = _read(osp.join(REPO, 'mkdocs.yml'))
    assert all(f'protocols/{n}.md' in nav for n in names), 'a protocol page is not in the nav'


def test_nothing_points_outside_the_repository():
    """No Python or Markdown file refers to the reference folder beside the checkout
    (``.ci/run``, a shell script, may use its wheel folder)."""
    hits = []
    for root, dirs, files in os.walk(REPO):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.endswith('.egg-info')]
        for name in files:
            if name.endswith(('.py', '.md')):
                path = osp.join(root, name)
                for k, line in enumerate(_read(path).splitlines(), 1):
                    if re.search(r'shared/', line) and 'test_docs.py' not in path:
                        hits.append(f'{osp.relpath(path, REPO)}:{k}')
    assert not hits, f'files pointing to shared/: {hits}'


def _hook():
    spec = importlib.util.spec_from_file_location(
        'api_pages', osp.join(DOCS, '_hooks', 'api_pages.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_api_pages_list_every_package_and_module_that_pkgutil_finds():
    """The hook reads the file tree; pkgutil imports the packages: both must agree."""
    import dense_ssl_mm
    found = {'dense_ssl_mm': set()}
    for info in pkgutil.walk_packages(dense_ssl_mm.__path__, 'dense_ssl_mm.'):
        parent, _, leaf = info.name.rpartition('.')
        if leaf.startswith('_'):
            continue
        if info.ispkg:
            found.setdefault(info.name, set())
        else:
            found.setdefault(parent, set()).add(info.name)
    listed = {pkg: set(mods) for pkg, mods in _hook()._packages()}
    assert listed == found


def test_api_pages_name_each_module_once(tmp_path):
    hook = _hook()
    (tmp_path / 'pkg' / 'sub').mkdir(parents=True)
    (tmp_path / 'pkg' / 'loose').mkdir()
    for rel in ('pkg/__init__.py', 'pkg/a.py', 'pkg/_private.py', 'pkg/sub/__init__.py',
                'pkg/sub/b.py', 'pkg/loose/c.py'):
        (tmp_path / rel).write_text('"""doc"""\n')
    packages = hook._packages(tmp_path, 'pkg')
    assert packages == [('pkg', ['pkg.a']), ('pkg.sub', ['pkg.sub.b'])]
    page = hook._page('pkg.sub', ['pkg.sub.b'])
    assert page.count('::: pkg.sub.b') == 1 and '::: pkg.sub\n' in page
