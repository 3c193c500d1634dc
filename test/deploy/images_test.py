"""The container image definitions in deploy/images (they cannot be built here: no container
engine). Parses each Dockerfile and checks what a build would trip over:

  * every file COPY'd from the build context exists in the repository;
  * every file COPY'd from another stage is produced there, and every binary a stage copies out
    of bazel-bin is a target that stage's `bazel build` names and that Bazel builds (the test
    depends on those targets, so they are built, and finds them in its runfiles);
  * multi-stage, Debian 12 (slim at runtime), a non-root USER, the ENTRYPOINT copied in;
  * the skiff image holds what injected pods run (skiff, skiff-ready for probes and hooks).

Run: python3 test/deploy/images_test.py (under Bazel: bazel test //test/deploy:images_test).
"""

import json
import os
import re
import shlex
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

import harness  # noqa: E402

IMAGES = ("skiff", "skiff-init", "skiff-control")


def runfiles_root():
    base = os.environ.get("TEST_SRCDIR")
    if base:
        return os.path.join(base, os.environ.get("TEST_WORKSPACE", "skiff"))
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def repo_root(anchor="deploy/images/skiff/Dockerfile"):
    """The source tree: runfiles are symlinks into it, so follow one (`anchor`, a data file of
    the test) back."""
    path = os.path.realpath(os.path.join(runfiles_root(), anchor))
    root = path[:-len(anchor)].rstrip("/") if path.endswith(anchor) else ""
    if not root or not os.path.isfile(os.path.join(root, "WORKSPACE")):
        raise harness.HarnessError("cannot find the repository from %s" % anchor)
    return root


def instructions(path):
    """[(line, KEYWORD, arguments)] with continuations joined and comments dropped."""
    out = []
    pending = ""
    start = 0
    with open(path) as f:
        for number, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if not pending and (not line.strip() or line.lstrip().startswith("#")):
                continue
            if pending and line.lstrip().startswith("#"):
                continue
            if not pending:
                start = number
            if line.endswith("\\"):
                pending += line[:-1] + " "
                continue
            text = pending + line
            pending = ""
            keyword, _, rest = text.strip().partition(" ")
            out.append((start, keyword.upper(), rest.strip()))
    return out


def copy_args(rest):
    """(flags, sources, destination) of a COPY/ADD, in shell or JSON (exec) form."""
    flags = {}
    while rest.startswith("--"):
        flag, _, rest = rest.partition(" ")
        key, _, value = flag[2:].partition("=")
        flags[key] = value
        rest = rest.lstrip()
    words = json.loads(rest) if rest.startswith("[") else shlex.split(rest)
    return flags, words[:-1], words[-1]


class Stage(object):
    def __init__(self, image, name, line):
        self.image = image
        self.name = name
        self.line = line
        self.produced = set()   # paths this stage creates (COPY and cp destinations)
        self.built = set()      # bazel-bin relative paths of the targets its `bazel build` names
        self.bazel_copies = []  # (line, bazel-bin relative path, destination)
        self.user = None
        self.entrypoint = None
        self.copies = []        # (line, flags, sources, destination)


def parse(path):
    stages = []
    for line, keyword, rest in instructions(path):
        if keyword == "FROM":
            words = rest.split()
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(words[0], name, line))
            continue
        if not stages:
            raise AssertionError("%s:%d: %s before FROM" % (path, line, keyword))
        stage = stages[-1]
        if keyword in ("COPY", "ADD"):
            flags, sources, destination = copy_args(rest)
            stage.copies.append((line, flags, sources, destination))
            for source in sources:
                stage.produced.add(destination.rstrip("/") + "/" + os.path.basename(source)
                                   if destination.endswith("/") else destination)
        elif keyword == "RUN":
            for command in re.split(r"&&|;", rest):
                words = command.split()
                if words[:2] == ["bazel", "build"]:
                    for word in words[2:]:
                        if word.startswith("//"):
                            package, _, target = word[2:].partition(":")
                            stage.built.add(package + "/" + (target or package.split("/")[-1]))
                if words and words[0] in ("cp", "install"):
                    paths = [w for w in words[1:] if not w.startswith("-")]
                    if len(paths) == 2:
                        source, destination = paths
                        stage.produced.add(destination)
                        if source.startswith("bazel-bin/"):
                            stage.bazel_copies.append((line, source[len("bazel-bin/"):],
                                                       destination))
        elif keyword == "USER":
            stage.user = rest.split(":")[0]
        elif keyword == "ENTRYPOINT":
            stage.entrypoint = json.loads(rest)[0] if rest.startswith("[") else rest.split()[0]
    return stages


class ImagesTest(harness.SkiffTestCase):

    def check_image(self, name):
        path = os.path.join(runfiles_root(), "deploy", "images", name, "Dockerfile")
        self.assertTrue(os.path.isfile(path), "missing %s" % path)
        stages = parse(path)
        where = "deploy/images/%s/Dockerfile" % name
        self.assertGreaterEqual(len(stages), 2, "%s: not multi-stage" % where)
        final = stages[-1]
        self.assertEqual(final.image, "debian:12-slim", "%s: runtime base" % where)
        for stage in stages:
            self.assertIn(stage.image, ("debian:12", "debian:12-slim"),
                          "%s:%d: not Debian 12" % (where, stage.line))
        self.assertIsNotNone(final.user, "%s: no USER (runs as root)" % where)
        self.assertNotIn(final.user, ("0", "root"), "%s: USER is root" % where)

        root = repo_root()
        by_name = {s.name: s for s in stages if s.name}
        for stage in stages:
            for line, flags, sources, _ in stage.copies:
                if "from" in flags:
                    source_stage = by_name.get(flags["from"])
                    self.assertIsNotNone(source_stage, "%s:%d: no stage %r" % (
                        where, line, flags["from"]))
                    for source in sources:
                        self.assertIn(source, source_stage.produced,
                                      "%s:%d: stage %s does not produce %s" % (
                                          where, line, flags["from"], source))
                    continue
                for source in sources:
                    self.assertTrue(os.path.exists(os.path.join(root, source)),
                                    "%s:%d: COPY source %s is not in the repository" % (
                                        where, line, source))
            for line, built_path, _ in stage.bazel_copies:
                self.assertIn(built_path, stage.built, "%s:%d: bazel-bin/%s is not a target "
                              "of this stage's bazel build" % (where, line, built_path))
                self.assertTrue(os.path.exists(os.path.join(runfiles_root(), built_path)),
                                "%s:%d: %s is not built by Bazel (not in the test's runfiles)" % (
                                    where, line, built_path))
        self.assertIsNotNone(final.entrypoint, "%s: no ENTRYPOINT" % where)
        self.assertIn(final.entrypoint, final.produced,
                      "%s: ENTRYPOINT %s is not copied in" % (where, final.entrypoint))
        return final

    def test_skiff(self):
        final = self.check_image("skiff")
        # What injected pods run: the proxy, and the probe/hook script.
        self.assertIn("/usr/local/bin/skiff", final.produced)
        self.assertIn("/usr/local/bin/skiff-ready", final.produced)
        self.assertEqual(final.user, "1337")  # the uid skiff-init exempts from capture

    def test_skiff_init(self):
        self.assertIn("/usr/local/bin/skiff-init", self.check_image("skiff-init").produced)

    def test_skiff_control(self):
        self.assertIn("/usr/local/bin/skiff-control", self.check_image("skiff-control").produced)

    def test_no_other_images(self):
        images = os.path.join(runfiles_root(), "deploy", "images")
        found = sorted(d for d in os.listdir(images) if os.path.isdir(os.path.join(images, d)))
        self.assertEqual(found, sorted(IMAGES), "add new images to this test")

    def test_parser_catches_a_missing_file(self):
        # The checks above would pass vacuously if the parser saw no COPY at all.
        path = os.path.join(self.outdir, "Dockerfile")
        with open(path, "w") as f:
            f.write("FROM debian:12 AS build\nRUN bazel build //a/b:c \\\n && cp -L bazel-bin/a/b/c"
                    " /out/c\n# comment\nFROM debian:12-slim\nCOPY --from=build /out/c /bin/c\n"
                    "COPY [\"x y\", \"/z\"]\nUSER 1:1\nENTRYPOINT [\"/bin/c\"]\n")
        stages = parse(path)
        self.assertEqual([s.name for s in stages], ["build", None])
        self.assertEqual(stages[0].built, {"a/b/c"})
        self.assertEqual(stages[0].bazel_copies, [(2, "a/b/c", "/out/c")])
        self.assertEqual(stages[1].copies[1][2], ["x y"])
        self.assertEqual(stages[1].produced, {"/bin/c", "/z"})
        self.assertEqual((stages[1].user, stages[1].entrypoint), ("1", "/bin/c"))


if __name__ == "__main__":
    harness.main()
