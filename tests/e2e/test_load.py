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

"""The host views under a bounded load: no 5xx, and how fast.

8 clients (``E2E_LOAD_CLIENTS``, a comma-separated list) for 30 s
(``E2E_LOAD_SECONDS``) on each view in turn, ours and nova's nearest:
``/os-livemig/hosts`` beside ``/os-hypervisors/detail``, and
``/os-livemig/hosts/{host}`` beside ``/os-hosts/{host}`` (microversion
2.42, the last that has it). Every answer of ours must be a 200; the
numbers (req/s, p50 and p99 in ms) are attached to the test's result
and, with ``E2E_LOAD_REPORT`` naming a file, appended to it.
"""

import os

from testtools import content

from tests.e2e import base
from tests.e2e import load


def _clients():
    return [int(n) for n in
            os.environ.get('E2E_LOAD_CLIENTS', '8').split(',') if n]


class TestHostViewsUnderLoad(base.E2ETestCase):

    SECONDS = float(os.environ.get('E2E_LOAD_SECONDS', '30'))
    timeout = 60 + 4 * SECONDS * len(_clients()) * 1.5

    def views(self):
        compute = self.admin.endpoint_for('compute').rstrip('/')
        return [
            ('GET /os-livemig/hosts', self.api + '/hosts',
             base.MICROVERSION, True),
            ('nova GET /os-hypervisors/detail',
             compute + '/os-hypervisors/detail', base.MICROVERSION, False),
            ('GET /os-livemig/hosts/{host}', self.api + '/hosts/' +
             self.source, base.MICROVERSION, True),
            ('nova GET /os-hosts/{host} (2.42)',
             compute + '/os-hosts/' + self.source, '2.42', False),
        ]

    def test_host_views_answer_200_under_load(self):
        token = self.admin.session.get_token()
        lines = []
        ours = []
        for clients in _clients():
            for label, url, microversion, mine in self.views():
                headers = {'X-Auth-Token': token,
                           'OpenStack-API-Version': 'compute %s'
                           % microversion}
                # Warm the connection pools and caches first.
                load.Load([url], headers, 1, seconds=5,
                          max_requests=3).run()
                traffic = load.Load([url], headers, clients, self.SECONDS,
                                    max_requests=100000, timeout=30)
                answers = traffic.run()
                report = load.summary(answers, traffic.elapsed)
                lines.append(
                    '| %-34s | %3d clients | %8.1f req/s | p50 %7.1f ms | '
                    'p99 %7.1f ms | %s |' % (
                        label, clients, report['per_second'],
                        report['p50_ms'], report['p99_ms'],
                        report['statuses']))
                if mine:
                    ours.append((label, clients, report))
        text = '\n'.join(lines)
        self.addDetail('load', content.text_content(text))
        if os.environ.get('E2E_LOAD_REPORT'):
            with open(os.environ['E2E_LOAD_REPORT'], 'a') as f:
                f.write(text + '\n')
        for label, clients, report in ours:
            self.assertTrue(report['requests'], label)
            self.assertEqual({200: report['requests']}, report['statuses'],
                             '%s at %d clients' % (label, clients))
