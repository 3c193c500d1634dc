#!/usr/bin/env python3
"""Prints "<passed> <failed>": the test cases of the given Bazel test targets.

Reads target labels (//pkg:name, one per line) on stdin and the JUnit XML Bazel left for each
under bazel-testlogs/pkg/name/test.xml. gtest and the integration harness both write one
<testcase> per case. A target without an XML (it never ran, or crashed before writing one)
counts as one failure, so nothing silently disappears from the total.
"""
import os
import sys
import xml.etree.ElementTree as ET

root = sys.argv[1] if len(sys.argv) > 1 else "bazel-testlogs"
passed = failed = 0
for line in sys.stdin:
    label = line.strip()
    if not label.startswith("//"):
        continue
    package, _, name = label[2:].partition(":")
    path = os.path.join(root, package, name, "test.xml")
    try:
        tree = ET.parse(path)
    except (OSError, ET.ParseError):
        failed += 1
        continue
    for case in tree.getroot().iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        elif case.get("status") == "notrun" or case.find("skipped") is not None:
            continue
        else:
            passed += 1
print(passed, failed)
