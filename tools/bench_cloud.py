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

"""Benchmark on the local cloud: GET /os-livemig/hosts/{host} against
nova's GET /os-hosts/{host} (microversion 2.42) through the real nova-api,
keystone, MariaDB and a placement in its own process.

The requests alternate, one of each per round; the table gives medians.
Servers are booted on the host first, unless it has them already::

    tools/minicloud up
    .minicloud/venv/bin/python tools/bench_cloud.py [--host compute1]
        [--servers 8] [--rounds 100]
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from minicloud_lib import apps  # noqa: E402
from minicloud_lib import cloud  # noqa: E402
from minicloud_lib import configs  # noqa: E402


def boot(conn, host, count):
    """Boot ``count`` m1.tiny servers on ``host`` (2.74: host is named)."""
    compute = conn.compute
    flavor = compute.find_flavor('m1.tiny')
    ids = []
    for i in range(count):
        body = {'server': {'name': 'bench-%d' % i, 'imageRef': apps.IMAGE_ID,
                           'flavorRef': flavor.id, 'networks': 'none',
                           'host': host}}
        response = conn.session.post(
            compute.get_endpoint() + '/servers', json=body,
            headers={'OpenStack-API-Version': 'compute 2.74'})
        ids.append(response.json()['server']['id'])
    for server_id in ids:
        compute.wait_for_server(compute.get_server(server_id),
                                status='ACTIVE', wait=120)


def timed_get(session, url, microversion):
    start = time.perf_counter()
    response = session.get(url, raise_exc=False, headers={
        'OpenStack-API-Version': 'compute %s' % microversion})
    elapsed = (time.perf_counter() - start) * 1000
    if response.status_code != 200:
        raise SystemExit('GET %s: %s %s' % (url, response.status_code,
                                            response.text[:200]))
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--host', default='compute1')
    parser.add_argument('--servers', type=int, default=8)
    parser.add_argument('--rounds', type=int, default=100)
    args = parser.parse_args()
    conn = cloud.connect('admin', 'admin', configs.PASSWORD)
    endpoint = conn.compute.get_endpoint().rstrip('/')
    on_host = conn.session.get(
        endpoint + '/servers?all_tenants=1&host=' + args.host).json()[
            'servers']
    if len(on_host) < args.servers:
        boot(conn, args.host, args.servers - len(on_host))
    requests = [
        ('nova GET /os-hosts/{host} (2.42)',
         endpoint + '/os-hosts/' + args.host, '2.42'),
        ('GET /os-livemig/hosts/{host}',
         endpoint + '/os-livemig/hosts/' + args.host, configs.MICROVERSION),
    ]
    samples = {label: [] for label, _, _ in requests}
    for round_ in range(args.rounds + 5):
        for label, url, microversion in requests:
            elapsed = timed_get(conn.session, url, microversion)
            if round_ >= 5:  # the first rounds warm caches
                samples[label].append(elapsed)
    medians = [statistics.median(samples[label]) for label, _, _ in requests]
    print('%s: %d servers, %d rounds' % (args.host, max(
        args.servers, len(on_host)), args.rounds))
    for (label, _, _), median in zip(requests, medians, strict=True):
        print('| %s | %.1f |' % (label, median))
    print('ratio os-livemig : os-hosts = %.2f' % (medians[1] / medians[0]))


if __name__ == '__main__':
    main()
