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
import shutil
import socket
import subprocess
import sys
import time
from unittest import mock

import fixtures
import testtools

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..',
                                'tools'))
from minicloud_lib import cloud  # noqa: E402
from minicloud_lib import configs  # noqa: E402
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


class DownAndOpenrcTest(testtools.TestCase):
    """``down`` stops in parallel waves; openrc finds the cloud's client."""

    def setUp(self):
        super().setUp()
        self.home = self.useFixture(fixtures.TempDir()).path
        for module in (services, cloud):
            for name in ('HOME', 'LOGS', 'RUN'):
                if hasattr(module, name):
                    patcher = mock.patch.object(module, name, self.home)
                    patcher.start()
                    self.addCleanup(patcher.stop)
        quiet = contextlib.redirect_stdout(io.StringIO())
        quiet.__enter__()
        self.addCleanup(quiet.__exit__, None, None, None)

    def test_nova_services_stop_before_rabbitmq_and_mariadb(self):
        waves = cloud.stop_order(services.services())
        names = [[service.name for service in wave] for wave in waves]
        computes = {'nova-compute-' + host.name for host in configs.HOSTS}
        self.assertLessEqual(computes | {'nova-api'}, set(names[0]))
        self.assertEqual({'rabbitmq', 'mariadb'}, set(names[-1]))
        nova_waves = [i for i, wave in enumerate(names)
                      for name in wave if name.startswith('nova-')]
        self.assertLess(max(nova_waves), len(names) - 1)
        self.assertEqual(sorted(s.name for s in services.services()),
                         sorted(sum(names, [])))

    def test_down_stops_a_wave_in_parallel(self):
        # Each takes 1 s to stop after SIGTERM: four one after another
        # would take 4 s.
        slow = ['sh', '-c', 'trap "sleep 1; exit 0" TERM; '
                'while :; do sleep 0.1; done']
        fleet = [services.Service('nova-compute-c%d' % i, slow)
                 for i in range(4)]
        for service in fleet:
            services.start(service)
            self.addCleanup(services.stop, service)
        self.useFixture(fixtures.MockPatchObject(
            cloud.procs, 'services', return_value=fleet))
        self.useFixture(fixtures.MockPatchObject(
            cloud.procs, 'port_open', return_value=False))
        began = time.monotonic()
        cloud.down(None)
        self.assertLess(time.monotonic() - began, 3)
        self.assertEqual([None] * 4, [services.pid_of(s) for s in fleet])

    def test_openrc_puts_the_clouds_client_first_on_path(self):
        bin_dir = os.path.join(self.home, 'venv', 'bin')
        os.makedirs(bin_dir)
        client = os.path.join(bin_dir, 'openstack')
        with open(client, 'w') as f:
            f.write('#!/bin/sh\necho the cloud client\n')
        os.chmod(client, 0o700)
        self.useFixture(fixtures.MockPatchObject(cloud, 'BIN', bin_dir))
        cloud.write_openrc()
        found = subprocess.run(  # noqa: S603 (a fixed shell line)
            [shutil.which('bash'), '-c',
             'PATH=/usr/bin:/bin; source "$0"; openstack; echo "$OS_AUTH_URL"',
             os.path.join(self.home, 'openrc')],
            capture_output=True, text=True, check=True).stdout.splitlines()
        self.assertEqual(['the cloud client',
                          configs.url('keystone', '/v3')], found)
