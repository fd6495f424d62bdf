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

"""Enable the filter and weigher in nova's own tests as an operator does.

nova's tests configure the scheduler themselves (``self.flags`` before or
after ``super().setUp()``, sometimes again before restarting it), and
nova-scheduler reads ``[filter_scheduler]`` once, when its HostManager is
built at service start. :func:`install` wraps ``HostManager.__init__`` so
that, at that moment and in every test, the operator's lines are added to
whatever the test configured:

* ``available_filters``: the test's list (nova's ``all_filters`` unless
  the test changed it) plus ``LiveMigrationDestinationFilter``;
* ``enabled_filters``: the test's list plus the filter;
* ``weight_classes``: the test's weighers plus ``VacantResourceWeigher``,
  one list;
* ``[livemig_ext] apply_to``: live migrations and evacuations; the other
  ``[livemig_ext]`` options keep their defaults.

The overrides live in nova's CONF, which nova's ConfFixture resets after
every test. The wrapper calls nova's own ``HostManager.__init__``, which
loads the filter and weigher by class path: nothing of nova or of the
plugin is replaced or mocked.

Every move the filter judged is appended, one line, to the file named by
``NOVA_MOVES_JUDGED_LOG`` (if set): ``<kind> <outcome> <test id>``, read
from the filter's own closing log line of each judged request, and
``filter-error error <test id>`` for each error it logs; so is every
scheduler start, ``scheduler-start plugin|no-plugin <test id>``, after
checking that the HostManager really loaded the filter and the weigher.
The test id comes from a wrapper of ``nova.test.TestCase.setUp`` that only
notes it. ``tools/nova_moves_judged.py`` sums the lines after the run.
"""

import logging
import os

import nova.conf
from nova.scheduler import host_manager
from nova import test

from nova_livemig_ext import conf as livemig_conf

CONF = nova.conf.CONF

FILTER_MODULE = 'nova_livemig_ext.scheduler.filters'
FILTER = FILTER_MODULE + '.LiveMigrationDestinationFilter'
FILTER_NAME = 'LiveMigrationDestinationFilter'
WEIGHER = 'nova_livemig_ext.scheduler.weighers.VacantResourceWeigher'
WEIGHER_NAME = 'VacantResourceWeigher'
APPLY_TO = [livemig_conf.LIVE_MIGRATION, livemig_conf.EVACUATION]
FILTER_ERROR = 'filter-error'


def _with(values, item):
    values = list(values)
    return values if item in values else values + [item]


def apply_operator_config(conf):
    """Add the plugin to the scheduler configuration the test set."""
    livemig_conf.register_opts(conf)
    group = conf.filter_scheduler
    conf.set_override('available_filters',
                      _with(group.available_filters, FILTER),
                      'filter_scheduler')
    conf.set_override('enabled_filters',
                      _with(group.enabled_filters, FILTER_NAME),
                      'filter_scheduler')
    conf.set_override('weight_classes',
                      _with(group.weight_classes, WEIGHER),
                      'filter_scheduler')
    conf.set_override('apply_to', APPLY_TO, livemig_conf.GROUP_NAME)


class JudgedMoves(logging.Handler):
    """Write one line per move the filter judged.

    The filter ends every judged request with one record carrying the
    move's ``kind``, ``server`` and ``source``: DEBUG when hosts passed,
    WARNING ("No destination ...") when none did. Per-host records name a
    ``host`` instead of a ``source``.
    """

    def __init__(self, path):
        super().__init__(logging.DEBUG)
        self.path = path
        self.test_id = None

    def write(self, kind, outcome):
        with open(self.path, 'a') as f:
            f.write('%s %s %s\n' % (kind, outcome, self.test_id))

    def emit(self, record):
        args = record.args
        if record.levelno >= logging.ERROR:
            # The filter could not judge a request or some hosts.
            self.write(FILTER_ERROR, 'error')
        elif isinstance(args, dict) and 'source' in args:
            self.write(args.get('kind'),
                       'passed' if record.levelno < logging.WARNING
                       else 'none')

    def scheduler_started(self, manager):
        filters = {type(f).__name__ for f in manager.enabled_filters}
        weighers = {type(w).__name__ for w in manager.weighers}
        self.write('scheduler-start',
                   'plugin' if FILTER_NAME in filters
                   and WEIGHER_NAME in weighers else 'no-plugin')


def _count_judged_moves(path):
    """Log judged moves to ``path``; returns the handler."""
    handler = JudgedMoves(path)
    logger = logging.getLogger(FILTER_MODULE)
    logger.addHandler(handler)
    # NOTE: nova's StandardLogging fixture sets the root logger to DEBUG in
    # every test; this makes sure the filter's DEBUG records are made.
    logger.setLevel(logging.DEBUG)
    real_setup = test.TestCase.setUp

    def setUp(self, *args, **kwargs):
        handler.test_id = self.id()
        return real_setup(self, *args, **kwargs)
    test.TestCase.setUp = setUp
    return handler


def install():
    """Wrap nova-scheduler's HostManager start; count judged moves."""
    real_init = host_manager.HostManager.__init__
    if getattr(real_init, 'livemig_ext_operator', False):
        return
    path = os.environ.get('NOVA_MOVES_JUDGED_LOG')
    judged = _count_judged_moves(path) if path else None

    def __init__(self, *args, **kwargs):
        apply_operator_config(CONF)
        real_init(self, *args, **kwargs)
        if judged is not None:
            judged.scheduler_started(self)
    __init__.livemig_ext_operator = True
    host_manager.HostManager.__init__ = __init__
