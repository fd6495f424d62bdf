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

"""The local cloud's process handling: clear failures, idempotent starts."""

import contextlib
import io
import os
import socket
import sys
from unittest import mock

import fixtures
import testtools

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..',
                                'tools'))
from minicloud_lib import services  # noqa: E402


class ServiceProcessTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        home = self.useFixture(fixtures.TempDir()).path
        for name in ('HOME', 'LOGS', 'RUN'):
            patcher = mock.patch.object(services, name, home)
            patcher.start()
            self.addCleanup(patcher.stop)
        quiet = contextlib.redirect_stdout(io.StringIO())
        quiet.__enter__()
        self.addCleanup(quiet.__exit__, None, None, None)

    def test_a_taken_port_is_named_with_the_service(self):
        listener = socket.socket()
        self.addCleanup(listener.close)
        listener.bind(('127.0.0.1', 0))
        listener.listen()
        port = listener.getsockname()[1]
        exc = self.assertRaises(
            services.StartError, services.start,
            services.Service('placement', ['true'], port=port))
        self.assertIn('port %d, needed by placement, is taken' % port,
                      str(exc))

    def test_a_service_that_exits_shows_its_last_log_lines(self):
        # However slow the machine, the exit comes before the service
        # would count as started.
        self.useFixture(fixtures.MockPatchObject(services, 'SETTLE_SECONDS',
                                                 30))
        service = services.Service(
            'nova-scheduler', ['sh', '-c', 'echo InvalidOption: ram; exit 3'])
        exc = self.assertRaises(services.StartError, services.start, service)
        self.assertIn('nova-scheduler exited with code 3', str(exc))
        self.assertIn('InvalidOption: ram', str(exc))

    def test_starting_twice_starts_once_and_stop_stops(self):
        service = services.Service('nova-conductor', ['sleep', '60'])
        self.assertTrue(services.start(service))
        self.addCleanup(services.stop, service)
        pid = services.pid_of(service)
        self.assertIsNotNone(pid)
        self.assertFalse(services.start(service))
        self.assertEqual(pid, services.pid_of(service))
        self.assertTrue(services.stop(service))
        self.assertIsNone(services.pid_of(service))
        self.assertFalse(services.stop(service))

    def test_a_reused_pid_is_not_taken_for_the_service(self):
        service = services.Service('keystone', ['true'])
        with open(service.pidfile, 'w') as f:
            f.write('%d 1' % os.getpid())   # this process, wrong start time
        self.assertIsNone(services.pid_of(service))
