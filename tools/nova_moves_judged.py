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

"""Count the moves the filter judged in a ``tox -e nova-moves`` run.

``tests/nova_moves/operator_config.py`` writes one line per judged
request, ``<kind> <outcome> <test id>``, one per error the filter logged,
``filter-error error <test id>``, and one per scheduler start,
``scheduler-start plugin|no-plugin <test id>``. Usage::

    python tools/nova_moves_judged.py JUDGED_LOG [--min N]

Prints the totals and exits 1 when fewer than N moves were judged (a run
of nova's tests in which the plugin judged nothing proves nothing), when
the filter logged an error, or when a scheduler started without the
filter and the weigher.
"""

import argparse
import collections
import os
import sys


SCHEDULER_START = 'scheduler-start'
FILTER_ERROR = 'filter-error'


def count(path):
    """(kind, outcome) -> lines, and the ids of the tests that judged."""
    judged = collections.Counter()
    tests = set()
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                kind, outcome, test_id = line.split(None, 2)
                judged[kind, outcome] += 1
                if kind not in (SCHEDULER_START, FILTER_ERROR):
                    tests.add(test_id.strip())
    return judged, tests


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('log')
    parser.add_argument('--min', type=int, default=1,
                        help='fewest judged moves for a valid run')
    args = parser.parse_args(argv)
    judged, tests = count(args.log)
    starts = judged.pop((SCHEDULER_START, 'plugin'), 0)
    without = judged.pop((SCHEDULER_START, 'no-plugin'), 0)
    errors = judged.pop((FILTER_ERROR, 'error'), 0)
    total = sum(judged.values())
    kinds = sorted({kind for kind, _outcome in judged})
    details = ', '.join(
        '%s %d (%d with a destination, %d without)' % (
            kind, judged[kind, 'passed'] + judged[kind, 'none'],
            judged[kind, 'passed'], judged[kind, 'none'])
        for kind in kinds)
    print('nova-moves: the filter judged %d moves in %d tests%s'
          % (total, len(tests), ': ' + details if details else ''))
    print('nova-moves: %d scheduler starts with the filter and weigher, '
          '%d without; %d errors logged by the filter'
          % (starts, without, errors))
    if without:
        print('nova-moves: a scheduler started without the plugin')
        return 1
    if errors:
        print('nova-moves: the filter logged %d errors (see the failing '
              'tests\' logs)' % errors)
        return 1
    if total < args.min:
        print('nova-moves: expected at least %d judged moves: is the filter '
              'enabled in the scheduler?' % args.min)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
