# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""Print one ``N passed, N failed`` line over the stestr runs of a checkout.

CI reads that plain line; stestr's own summary is per run. Usage::

    python tools/test_summary.py [REPOSITORY ...]

Each REPOSITORY is an stestr repository directory (default ``.stestr``;
``tox -e nova-moves`` keeps nova's tests in ``.nova-moves/.stestr``); the
line adds up every run of every one of them. A repository that does not
exist counts as no test. Exits 1 when a test failed or when no test ran at
all.
"""

import os
import sys

import subunit
import testtools


def summarize(*repositories):
    """Add up every run of stestr file repositories (subunit v1 files)."""
    result = testtools.TestResult()
    for repository in repositories:
        if not os.path.isdir(repository):
            continue
        runs = sorted(name for name in os.listdir(repository)
                      if name.isdigit())
        for name in runs:
            with open(os.path.join(repository, name), 'rb') as stream:
                subunit.ProtocolTestCase(stream).run(result)
    failed = len(result.errors) + len(result.failures)
    skipped = sum(len(tests) for tests in result.skip_reasons.values())
    passed = result.testsRun - failed - skipped
    return passed, failed, skipped


def main(argv):
    repositories = argv[1:] or ['.stestr']
    passed, failed, skipped = summarize(*repositories)
    print('%d passed, %d failed, %d skipped' % (passed, failed, skipped))
    return 1 if failed or not passed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
