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

"""Benchmark: nova's filter and weigher chain with and without the plugin.

Runs nova's own ``HostFilterHandler`` and ``HostWeightHandler`` with nova's
default ``enabled_filters`` and all of nova's weighers over N synthetic
hosts (spread over 2 availability zones and 4 migration domains), once as
nova ships and once with LiveMigrationDestinationFilter and
VacantResourceWeigher added, for a live-migration request. Prints the
time per request, the ratio, and the database and placement round trips
per request.

The plugin's reads are answered from memory at nova's boundaries
(``MigrationList.get_by_filters``, ``AggregateList.get_by_host`` and the
placement client's ``get``), which count every call: a query added per
host would show in the round-trip column. What a real round trip costs is
measured separately by ``--placement``, which times the plugin's
placement request against nova's own ``GET /allocation_candidates`` on an
in-process placement holding N providers.

Usage::

    python tools/bench_scheduler.py [--hosts 100,1000,5000] [--placement]
"""

import argparse
import datetime
import statistics
import sys
import time
from unittest import mock

# NOTE: nova.tests.unit patches the concurrency mode and registers nova's
# objects before any other nova module is imported.
import nova.tests.unit  # noqa: F401

import nova.conf
from nova import context as nova_context
from nova import objects
from nova.scheduler.client import report
from nova.scheduler import filters as nova_filters
from nova.scheduler import host_manager
from nova.scheduler import weights as nova_weights
from oslo_utils import uuidutils

from nova_livemig_ext import conf as livemig_conf
from nova_livemig_ext import usage

CONF = nova.conf.CONF
livemig_conf.register_opts(CONF)

FILTER = ('nova_livemig_ext.scheduler.filters.'
          'LiveMigrationDestinationFilter')
WEIGHER = 'nova_livemig_ext.scheduler.weighers.VacantResourceWeigher'
ZONES = ('az1', 'az2')
DOMAINS = ('nfs-a', 'nfs-b', 'ceph-1', 'ceph-2')
CELL = objects.CellMapping(uuid=uuidutils.generate_uuid(), name='cell1',
                           database_connection='sqlite://',
                           transport_url='fake://')


class Counter:
    """Counts the round trips the plugin makes at nova's boundaries."""

    def __init__(self):
        self.db = 0
        self.http = 0


def make_aggregates():
    aggs = {}
    for zone in ZONES:
        aggs[zone] = objects.Aggregate(
            name=zone, metadata={'availability_zone': zone}, hosts=[])
    for domain in DOMAINS:
        aggs[domain] = objects.Aggregate(
            name=domain, metadata={'livemig_domain': domain}, hosts=[])
    return aggs


def make_hosts(count, aggs, uniform=False):
    """HostStates as nova's host manager builds them from compute nodes.

    :param uniform: put every host in the same zone and domain, so that the
        plugin rejects none: its pure overhead.
    """
    now = datetime.datetime.now(datetime.UTC)
    hosts = []
    for i in range(count):
        name = 'compute%05d' % i
        hs = host_manager.HostState(name, name, CELL.uuid)
        hs.uuid = uuidutils.generate_uuid()
        hs.vcpus_total = 64
        hs.vcpus_used = i % 48
        hs.total_usable_ram_mb = 262144
        hs.free_ram_mb = 262144 - (i % 200) * 1024
        hs.total_usable_disk_gb = 2048
        hs.free_disk_mb = (2048 - i % 1000) * 1024
        hs.disk_mb_used = (i % 1000) * 1024
        hs.cpu_allocation_ratio = 4.0
        hs.ram_allocation_ratio = 1.0
        hs.disk_allocation_ratio = 1.0
        hs.hypervisor_type = 'QEMU'
        hs.hypervisor_version = 9002000
        hs.num_instances = i % 40
        hs.num_io_ops = i % 5
        hs.updated = now
        if uniform:
            hs.aggregates = [aggs[ZONES[0]], aggs[DOMAINS[0]]]
        else:
            hs.aggregates = [aggs[ZONES[i % 2]], aggs[DOMAINS[i % 4]]]
        hs.service = {'host': name, 'disabled': False, 'forced_down': False,
                      'updated_at': now, 'created_at': now,
                      'last_seen_up': now}
        hosts.append(hs)
    return hosts


def placement_answer(hosts, uniform=False):
    """Placement's GET /allocation_candidates body for these hosts."""
    summaries = {}
    for i, hs in enumerate(hosts):
        if uniform:
            i = i % 20
        summaries[hs.uuid] = {'resources': {
            'VCPU': {'capacity': 256, 'used': (i * 7) % 200},
            'MEMORY_MB': {'capacity': 261632,
                          'used': (i * 4096) % 230000},
            'DISK_GB': {'capacity': 2048, 'used': (i * 13) % 1800},
        }}
    return {'allocation_requests': [], 'provider_summaries': summaries}


def live_migration_spec(source):
    spec = objects.RequestSpec(
        instance_uuid=uuidutils.generate_uuid(),
        flavor=objects.Flavor(vcpus=4, memory_mb=8192, root_gb=40,
                              ephemeral_gb=0, swap=0, extra_specs={}),
        is_bfv=False, scheduler_hints={}, num_instances=1,
        image=objects.ImageMeta(properties=objects.ImageMetaProps()),
        ignore_hosts=[source],
        requested_destination=objects.Destination(cell=CELL),
        instance_group=None, force_hosts=[], force_nodes=[])
    return spec


def chain(with_plugin):
    filter_names = list(CONF.filter_scheduler.enabled_filters)
    filter_paths = ['nova.scheduler.filters.all_filters']
    weigher_paths = ['nova.scheduler.weights.all_weighers']
    if with_plugin:
        filter_names.append('LiveMigrationDestinationFilter')
        filter_paths.append(FILTER)
        weigher_paths.append(WEIGHER)
    filter_handler = nova_filters.HostFilterHandler()
    classes = {cls.__name__: cls for cls in
               filter_handler.get_matching_classes(filter_paths)}
    filters = [classes[name]() for name in filter_names]
    weight_handler = nova_weights.HostWeightHandler()
    weighers = [cls() for cls in
                weight_handler.get_matching_classes(weigher_paths)]
    return filter_handler, filters, weight_handler, weighers


def one_request(handlers, hosts, spec):
    filter_handler, filters, weight_handler, weighers = handlers
    passed = filter_handler.get_filtered_objects(filters, hosts, spec, 0)
    weighed = weight_handler.get_weighed_objects(weighers, passed, spec)
    return weighed[0].obj.host if weighed else None


def measure(count, repeats, uniform):
    aggs = make_aggregates()
    hosts = make_hosts(count, aggs, uniform)
    source = hosts[0].host
    counter = Counter()
    body = placement_answer(hosts, uniform)

    def migrations(ctxt, filters, **kw):
        counter.db += 1
        return [objects.Migration(migration_type='live-migration',
                                  source_compute=source, status='accepted')]

    def aggregates_of(ctxt, host, key=None):
        counter.db += 1
        return list(hosts[0].aggregates)

    def placement_get(url, **kw):
        counter.http += 1
        return mock.Mock(status_code=200, json=lambda: body)

    client = mock.Mock(get=placement_get)
    # The source host is in ignore_hosts: nova's host manager drops it
    # before the filters run.
    candidates = hosts[1:]
    with mock.patch.object(objects.MigrationList, 'get_by_filters',
                           side_effect=migrations), \
            mock.patch.object(objects.AggregateList, 'get_by_host',
                              side_effect=aggregates_of), \
            mock.patch.object(report, 'report_client_singleton',
                              return_value=client):
        chains = {False: chain(False), True: chain(True)}
        samples = {False: [], True: []}
        trips = {False: [0, 0], True: [0, 0]}
        chosen = {}
        # Interleave the two chains so that a slow moment of the machine
        # hits both alike; the first two rounds warm up.
        for round_ in range(repeats + 2):
            order = (False, True) if round_ % 2 else (True, False)
            for with_plugin in order:
                spec = live_migration_spec(source)
                counter.db = counter.http = 0
                start = time.perf_counter()
                chosen[with_plugin] = one_request(
                    chains[with_plugin], candidates, spec)
                elapsed = time.perf_counter() - start
                if round_ >= 2:
                    samples[with_plugin].append(elapsed)
                    trips[with_plugin][0] += counter.db
                    trips[with_plugin][1] += counter.http
    return {with_plugin: {
        'ms': statistics.median(samples[with_plugin]) * 1000,
        'db': trips[with_plugin][0] / repeats,
        'http': trips[with_plugin][1] / repeats,
        'chosen': chosen[with_plugin],
    } for with_plugin in (False, True)}


def bench_chain(host_counts, uniform):
    print()
    if uniform:
        print('All hosts in one zone and domain, all with room: the plugin '
              'rejects none (its pure overhead).')
    else:
        print('Hosts in 2 zones x 4 domains, varied usage: the plugin '
              'rejects about 7 in 8 hosts before nova weighs them.')
    print()
    header = ('| hosts | nova default chain (ms) | with plugin (ms) | ratio '
              '| plugin DB round trips | plugin placement round trips |')
    print(header)
    print('|' + '|'.join('-' * (len(c) + 0) for c in
                         header.strip('|').split('|')) + '|')
    for count in host_counts:
        repeats = max(20, min(300, 60000 // count))
        res = measure(count, repeats, uniform)
        base, plug = res[False], res[True]
        print('| %5d | %23.2f | %16.2f | %5.2f | %21.0f | %28.0f |' % (
            count, base['ms'], plug['ms'], plug['ms'] / base['ms'],
            plug['db'], plug['http']))
        sys.stdout.flush()


def nova_version():
    from importlib import metadata
    return metadata.version('nova')


def bench_placement(host_counts):
    """The plugin's placement request vs nova's own, on real placement."""
    import fixtures
    from nova.scheduler import utils as scheduler_utils
    from nova.tests.functional import fixtures as func_fixtures
    from oslo_config import fixture as config_fixture

    print()
    print("Placement round trip on an in-process placement (sqlite): "
          "nova's GET /allocation_candidates vs the plugin's")
    print()
    header = ('| providers | nova scheduler request (ms) | plugin request '
              '(ms) | ratio |')
    print(header)
    print('|' + '|'.join('-' * len(c) for c in
                         header.strip('|').split('|')) + '|')
    for count in host_counts:
        with fixtures.Fixture() as scope:
            scope.useFixture(config_fixture.Config(CONF))
            CONF([], project='nova')
            placement = scope.useFixture(func_fixtures.PlacementFixture())
            api = placement.api
            for i in range(count):
                rp = uuidutils.generate_uuid()
                api.post('/resource_providers',
                         {'name': 'compute%05d' % i, 'uuid': rp},
                         version='1.20')
                api.put('/resource_providers/%s/inventories' % rp, {
                    'resource_provider_generation': 0,
                    'inventories': {
                        'VCPU': {'total': 64, 'allocation_ratio': 4.0},
                        'MEMORY_MB': {'total': 262144, 'reserved': 512},
                        'DISK_GB': {'total': 2048}}})
                api.put('/allocations/%s' % uuidutils.generate_uuid(), {
                    'allocations': {rp: {'resources': {
                        'VCPU': 1 + i % 100, 'MEMORY_MB': 1024 * (1 + i % 200),
                        'DISK_GB': 1 + i % 1000}}},
                    'project_id': uuidutils.generate_uuid(),
                    'user_id': uuidutils.generate_uuid(),
                    'consumer_generation': None}, version='1.28')
            ctxt = nova_context.get_admin_context()
            spec = live_migration_spec('compute00000')
            request = scheduler_utils.ResourceRequest.from_request_spec(spec)
            # The fixture routes the report client's HTTP verbs to the
            # in-process placement; no keystone session is needed.
            client = report.SchedulerReportClient(adapter=mock.Mock())
            scope.useFixture(fixtures.MockPatchObject(
                report, 'report_client_singleton', return_value=client))
            uuids = None
            nova_times, plugin_times = [], []
            repeats = 5
            for _ in range(repeats + 1):
                start = time.perf_counter()
                reqs, summaries, _ = client.get_allocation_candidates(
                    ctxt, request)
                nova_times.append(time.perf_counter() - start)
                uuids = set(summaries)
                start = time.perf_counter()
                usage.provider_resources(ctxt, uuids)
                plugin_times.append(time.perf_counter() - start)
            nova_ms = statistics.median(nova_times[1:]) * 1000
            plugin_ms = statistics.median(plugin_times[1:]) * 1000
            print('| %9d | %27.1f | %19.1f | %5.2f |' % (
                count, nova_ms, plugin_ms, plugin_ms / nova_ms))
            sys.stdout.flush()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--hosts', default='100,1000,5000',
                        help='comma-separated host counts')
    parser.add_argument('--placement', action='store_true',
                        help='also time the placement round trip on an '
                             'in-process placement')
    parser.add_argument('--placement-hosts', default='100,1000',
                        help='provider counts for --placement')
    args = parser.parse_args(argv)
    CONF([], project='nova')
    print('Filter and weigher chain for one live-migration request, median '
          'over repeats (nova %s, Python %s)'
          % (nova_version(), sys.version.split()[0]))
    counts = [int(n) for n in args.hosts.split(',')]
    bench_chain(counts, uniform=True)
    bench_chain(counts, uniform=False)
    if args.placement:
        bench_placement([int(n) for n in args.placement_hosts.split(',')])


if __name__ == '__main__':
    main()
