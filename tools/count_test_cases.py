#!/usr/bin/env python3
"""Prints "<passed> <failed>": test cases found in the JUnit XML files under bazel-testlogs.

gtest and the integration harness both write one <testcase> per case; a target that produced no
XML of its own (a crash before output) still has Bazel's generated file with one case.
"""
import glob
import os
import sys
import xml.etree.ElementTree as ET

root = sys.argv[1] if len(sys.argv) > 1 else "bazel-testlogs"
passed = failed = 0
for path in glob.glob(os.path.join(root, "**", "test.xml"), recursive=True):
    try:
        tree = ET.parse(path)
    except ET.ParseError:
        failed += 1
        continue
    cases = tree.getroot().iter("testcase")
    for case in cases:
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        elif case.get("status") == "notrun" or case.find("skipped") is not None:
            continue
        else:
            passed += 1
print(passed, failed)
