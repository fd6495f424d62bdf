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

"""Benchmark: the os-livemig API against nova's own per-host views.

On nova's in-process cloud (sqlite cell and API databases, in-process
placement, nova-api through its paste pipeline with the extension mounted
as shipped) holding N compute hosts and M instances written straight into
the databases, it times

* ``GET /os-livemig/hosts/{host}`` against nova's ``GET /os-hosts/{host}``
  (microversion 2.42, the last that has it), and
* ``GET /os-livemig/hosts`` (every host) against nova's
  ``GET /os-hypervisors/detail`` (microversion 2.87, the last with usage),

and counts the SQL statements, database transactions (each a connection
taken from the pool) and placement requests of each. Usage::

    python tools/bench_api.py [--hosts 1000] [--instances 20000]
"""

import argparse
import datetime
import os
import statistics
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..'))
# nova-api runs with native threads (nova 34's default); nova's test
# packages would patch eventlet in unless told not to.
os.environ.setdefault('OS_NOVA_DISABLE_EVENTLET_PATCHING', '1')

# NOTE: imported first, it patches the concurrency mode for nova's tests.
from tests.functional import base  # noqa: E402

from nova import context as nova_context  # noqa: E402
from nova.db.api import models as api_models  # noqa: E402
from nova.db.main import api as main_db  # noqa: E402
from nova.db.main import models as main_models  # noqa: E402
from nova import objects  # noqa: E402
from oslo_serialization import jsonutils  # noqa: E402
from oslo_utils import uuidutils  # noqa: E402

OPTIONS = {'hosts': 1000, 'instances': 20000, 'repeats': 5}


class APIBenchmark(base.LivemigApiTestBase):
    """Not a test: a scenario run once by main()."""

    def test_benchmark(self):
        hosts = OPTIONS['hosts']
        instances = OPTIONS['instances']
        started = time.perf_counter()
        names, rp_uuids = self._populate(hosts, instances)
        print('Populated %d hosts and %d instances in %.0f s'
              % (hosts, instances, time.perf_counter() - started))
        self.quiet_services()
        host = names[len(names) // 2]
        # Each pair in turn, one sample of each per round, so that both
        # sides of a ratio see the same machine.
        rows = self._interleaved([
            ('nova GET /os-hosts/{host} (2.42)', 'os-hosts/%s' % host,
             '2.42'),
            ('GET /os-livemig/hosts/{host}', 'os-livemig/hosts/%s' % host,
             None),
        ], OPTIONS['repeats'] * 4)
        rows += self._interleaved([
            ('nova GET /os-hypervisors/detail (2.87)',
             'os-hypervisors/detail', '2.87'),
            ('GET /os-livemig/hosts, inventories cached', 'os-livemig/hosts',
             None),
        ], OPTIONS['repeats'])
        from nova_livemig_ext.usage import hosts as host_usage
        from nova_livemig_ext.usage import placement
        # The first listing of a nova-api process: without the read-ahead
        # (inventory_cache_prime = False), then after it.
        placement.INVENTORIES.clear()
        rows.append(self._first(
            'GET /os-livemig/hosts, first of a process, no read-ahead',
            'os-livemig/hosts'))
        placement.INVENTORIES.clear()
        start = time.perf_counter()
        with base.RoundTrips() as trips:
            placement.INVENTORIES.prime(host_usage.compute_node_uuids).join()
        prime = (time.perf_counter() - start, trips.sql, trips.transactions,
                 trips.placement)
        rows.append(self._first(
            'GET /os-livemig/hosts, first of a process, after read-ahead',
            'os-livemig/hosts'))
        print()
        print('%d hosts, %d instances (nova %s)' % (
            hosts, instances, _nova_version()))
        print()
        header = ('| request | median ms | nova SQL statements | nova DB '
                  'transactions | placement requests |')
        print(header)
        print('|---|---:|---:|---:|---:|')
        for label, ms, sql, transactions, http in rows:
            print('| %s | %.0f | %d | %d | %d |'
                  % (label, ms, sql, transactions, http))
        print()
        print('ratio os-livemig/hosts/{host} : os-hosts/{host} = %.2f'
              % (rows[1][1] / rows[0][1]))
        print('ratio os-livemig/hosts (cached) : os-hypervisors/detail = '
              '%.2f' % (rows[3][1] / rows[2][1]))
        print('ratio os-livemig/hosts (first, after read-ahead) : '
              'os-hypervisors/detail = %.2f' % (rows[5][1] / rows[2][1]))
        print('read-ahead when nova-api loads the extension (background): '
              '%.1f s, %d SQL statements, %d transactions, %d placement '
              'requests' % prime)

    def _once(self, path, microversion):
        """(ms, SQL statements, transactions, placement calls) of a GET."""
        api = self.admin_api
        api.microversion = microversion
        with base.RoundTrips() as trips:
            start = time.perf_counter()
            response = api.api_request(path, check_response_status=None)
            elapsed = time.perf_counter() - start
        api.microversion = 'latest'
        self.assertEqual(200, response.status_code, response.text[:300])
        return elapsed * 1000, trips.sql, trips.transactions, trips.placement

    def _interleaved(self, requests, repeats):
        """Rows (label, median ms, statements, transactions, placement)."""
        samples = {label: [] for label, _, _ in requests}
        counts = {}
        for _, path, microversion in requests:
            self._once(path, microversion)  # warm
        for _ in range(repeats):
            for label, path, microversion in requests:
                ms, *trips = self._once(path, microversion)
                samples[label].append(ms)
                counts[label] = tuple(trips)
        return [(label, statistics.median(samples[label])) + counts[label]
                for label, _, _ in requests]

    def _first(self, label, path):
        """The row of one request on cold caches (one sample)."""
        return (label,) + self._once(path, None)

    def _populate(self, hosts, instances):
        ctxt = nova_context.get_admin_context()
        cell = self.cell_mappings['cell1']
        now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
        names = ['compute%05d' % i for i in range(hosts)]
        rp_uuids = [uuidutils.generate_uuid() for _ in names]
        with nova_context.target_cell(ctxt, cell) as cctxt:
            engine = main_db.get_engine(context=cctxt)
            with engine.begin() as conn:
                conn.execute(main_models.ComputeNode.__table__.insert(), [
                    _compute_node(name, rp, now)
                    for name, rp in zip(names, rp_uuids, strict=True)])
                conn.execute(main_models.Service.__table__.insert(), [
                    _service(name, now) for name in names])
                rows = [_instance(i, names[i % hosts], now)
                        for i in range(instances)]
                conn.execute(main_models.Instance.__table__.insert(), rows)
                # nova writes the flavor of every instance beside it.
                flavor = _flavor_json()
                conn.execute(main_models.InstanceExtra.__table__.insert(), [
                    {'created_at': now, 'deleted': 0,
                     'instance_uuid': row['uuid'], 'flavor': flavor}
                    for row in rows])
        from nova.db.api import api as api_db
        with api_db.context_manager.writer.using(ctxt) as session:
            session.execute(api_models.HostMapping.__table__.insert(), [
                {'host': name, 'cell_id': cell.id, 'created_at': now}
                for name in names])
            # nova's API writes one for every instance it creates.
            session.execute(api_models.InstanceMapping.__table__.insert(), [
                {'instance_uuid': row['uuid'], 'cell_id': cell.id,
                 'project_id': row['project_id'], 'user_id': row['user_id'],
                 'queued_for_delete': False, 'created_at': now}
                for row in rows])
        for zone in ('az1', 'az2'):
            agg = objects.Aggregate(ctxt, name=zone,
                                    metadata={'availability_zone': zone})
            agg.create()
        placement_api = self.placement
        for name, rp in zip(names, rp_uuids, strict=True):
            placement_api.post('/resource_providers',
                               {'name': name, 'uuid': rp}, version='1.20')
            placement_api.put('/resource_providers/%s/inventories' % rp, {
                'resource_provider_generation': 0,
                'inventories': {
                    'VCPU': {'total': 64, 'allocation_ratio': 4.0},
                    'MEMORY_MB': {'total': 262144, 'reserved': 512},
                    'DISK_GB': {'total': 2048}}})
        batch = {}
        for i in range(instances):
            batch[uuidutils.generate_uuid()] = {
                'allocations': {rp_uuids[i % hosts]: {'resources': {
                    'VCPU': 2, 'MEMORY_MB': 4096, 'DISK_GB': 20}}},
                'project_id': 'project%d' % (i % 50),
                'user_id': 'user', 'consumer_generation': None}
            if len(batch) == 1000 or i == instances - 1:
                placement_api.post('/allocations', batch, version='1.28')
                batch = {}
        return names, rp_uuids


def _compute_node(name, rp_uuid, now):
    return {
        'created_at': now, 'deleted': 0, 'uuid': rp_uuid, 'host': name,
        'hypervisor_hostname': name, 'vcpus': 64, 'memory_mb': 262144,
        'local_gb': 2048, 'vcpus_used': 40, 'memory_mb_used': 82432,
        'local_gb_used': 400, 'hypervisor_type': 'fake',
        'hypervisor_version': 1000, 'cpu_info': '{}', 'free_ram_mb': 179712,
        'free_disk_gb': 1648, 'current_workload': 0, 'running_vms': 20,
        'disk_available_least': 1648, 'host_ip': '192.0.2.1',
        'supported_instances': '[]', 'metrics': '[]', 'stats': '{}',
        'cpu_allocation_ratio': 4.0, 'ram_allocation_ratio': 1.0,
        'disk_allocation_ratio': 1.0, 'mapped': 1}


def _service(name, now):
    return {
        'created_at': now, 'updated_at': now, 'last_seen_up': now,
        'deleted': 0, 'uuid': uuidutils.generate_uuid(), 'host': name,
        'binary': 'nova-compute', 'topic': 'compute', 'report_count': 1,
        'disabled': False, 'forced_down': False,
        'version': objects.service.SERVICE_VERSION}


def _instance(i, host, now):
    return {
        'created_at': now, 'deleted': 0, 'uuid': uuidutils.generate_uuid(),
        'host': host, 'node': host, 'launched_on': host,
        'project_id': 'project%d' % (i % 50), 'user_id': 'user',
        'vcpus': 2, 'memory_mb': 4096, 'root_gb': 20, 'ephemeral_gb': 0,
        'vm_state': 'active', 'power_state': 1, 'display_name': 'vm%d' % i,
        'hostname': 'vm%d' % i, 'instance_type_id': 1, 'image_ref': 'image',
        'availability_zone': 'az1', 'locked': False, 'cleaned': 0}


def _flavor_json():
    flavor = objects.Flavor(
        id=1, flavorid='bench', name='bench', memory_mb=4096, vcpus=2,
        root_gb=20, ephemeral_gb=0, swap=0, rxtx_factor=1.0, vcpu_weight=0,
        disabled=False, is_public=True, extra_specs={}, description=None)
    return jsonutils.dumps({'cur': flavor.obj_to_primitive(), 'old': None,
                            'new': None})


def _nova_version():
    from importlib import metadata
    return metadata.version('nova')


def parser(description):
    """The options every benchmark on the in-process cloud takes."""
    result = argparse.ArgumentParser(description=description)
    result.add_argument('--hosts', type=int, default=1000)
    result.add_argument('--instances', type=int, default=20000)
    result.add_argument('--repeats', type=int, default=5)
    return result


def run(benchmark, options, args):
    """Run ``benchmark``'s scenario once with ``args`` in ``options``."""
    options.update(vars(args))
    os.environ.setdefault('OS_TEST_TIMEOUT', '3600')
    suite = unittest.defaultTestLoader.loadTestsFromName(
        'test_benchmark', benchmark)
    result = unittest.TextTestRunner(verbosity=0).run(
        unittest.TestSuite([suite]))
    return 0 if result.wasSuccessful() else 1


def main():
    args = parser(__doc__.split('\n')[0]).parse_args()
    return run(APIBenchmark, OPTIONS, args)


if __name__ == '__main__':
    sys.exit(main())
