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

"""Nova's own functional tests of moves, run with the plugin enabled.

``tox -e nova-moves`` points stestr's discovery here. Nothing of nova's
test code is copied: :func:`load_tests` loads nova's test modules from the
installed nova (the wheel ships ``nova/tests``), and ``include.txt`` /
``exclude.txt`` beside this file pick the tests (stestr's include and
exclude lists). Importing this package first installs the operator's
configuration hook (:mod:`tests.nova_moves.operator_config`), in every stestr
worker, before any of nova's tests starts a scheduler.
"""

import importlib
import pkgutil
import unittest

# NOTE: nova.tests.functional patches the threading model at import; it
# must come before any other nova module.
import nova.tests.functional  # noqa: F401

from tests.nova_moves import operator_config

# nova's test modules that hold the tests named in include.txt.
MODULES = (
    'nova.tests.functional.test_servers',
    'nova.tests.functional.test_availability_zones',
    'nova.tests.functional.test_server_group',
    'nova.tests.functional.regressions',
    'nova.tests.functional.libvirt.test_pci_sriov_servers',
    'nova.tests.functional.libvirt.test_live_migration',
    'nova.tests.functional.libvirt.test_numa_live_migration',
)

operator_config.install()


def _module_names():
    for name in MODULES:
        module = importlib.import_module(name)
        if hasattr(module, '__path__'):
            for info in pkgutil.iter_modules(module.__path__):
                if info.name.startswith('test_'):
                    yield '%s.%s' % (name, info.name)
        else:
            yield name


def load_tests(loader, tests, pattern):
    """unittest's hook: nova's test modules instead of this directory."""
    suite = unittest.TestSuite()
    for name in _module_names():
        suite.addTests(loader.loadTestsFromName(name))
    return suite
