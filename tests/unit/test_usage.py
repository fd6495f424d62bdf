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

"""The read model's pure helpers and its placement request.

Placement itself is a remote service: here its client is replaced by a
stub that records the request; the functional tests use real placement.
"""

import socket
import threading
import time

from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import session as ks_session
from nova import context as nova_context
from nova.scheduler.client import report

from nova_livemig_ext.constraints import base as cbase
from nova_livemig_ext import usage
from nova_livemig_ext.usage import placement
from tests.unit import base


class HostFactsTest(base.TestCase):

    def facts(self, aggregates, key='livemig_domain', memo=None):
        return usage.host_facts(aggregates, key, 'nova', memo)

    def test_default_zone_and_no_domain(self):
        self.assertEqual(('nova', frozenset(), {}, []), self.facts([]))

    def test_zone_and_domains(self):
        aggs = [base.aggregate('z', availability_zone='az1'),
                base.aggregate('a', livemig_domain='nfs-a'),
                base.aggregate('b', livemig_domain=' ceph-1 '),
                base.aggregate('c', livemig_domain=''),
                base.aggregate('d', storage='x')]
        zone, domains, caps, invalid = self.facts(aggs)
        self.assertEqual('az1', zone)
        self.assertEqual(frozenset(['nfs-a', 'ceph-1']), domains)
        self.assertEqual(frozenset(['x']), self.facts(aggs, 'storage')[1])

    def test_caps_lowest_valid_wins(self):
        zone, domains, caps, invalid = self.facts([
            base.aggregate('a', livemig_ram_max_utilization='0.8',
                           livemig_vcpu_max_utilization='1'),
            base.aggregate('b', livemig_ram_max_utilization='0.5'),
            base.aggregate('c', livemig_ram_max_utilization='0',
                           livemig_disk_max_utilization='lots'),
            base.aggregate('d', livemig_disk_max_utilization='1.5'),
        ])
        self.assertEqual({'MEMORY_MB': 0.5, 'VCPU': 1.0}, caps)
        self.assertEqual(
            [('c', 'livemig_ram_max_utilization', '0'),
             ('c', 'livemig_disk_max_utilization', 'lots'),
             ('d', 'livemig_disk_max_utilization', '1.5')], invalid)

    def test_each_aggregate_is_read_once_per_request(self):
        agg = base.aggregate('a', livemig_domain='nfs-a')
        memo = {}
        self.facts([agg], memo=memo)
        agg.metadata = {'livemig_domain': 'changed'}
        self.assertEqual(frozenset(['nfs-a']),
                         self.facts([agg], memo=memo)[1])
        self.assertEqual(frozenset(['changed']), self.facts([agg])[1])


class FakeResponse:
    def __init__(self, status_code, body=None, text=''):
        self.status_code = status_code
        self._body = body
        self.text = text

    def json(self):
        return self._body


class ProviderResourcesTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.client = base.mock.Mock()
        self.useFixture(base.fixtures.MockPatch(
            'nova.scheduler.client.report.report_client_singleton',
            return_value=self.client))
        self.ctxt = nova_context.get_admin_context()

    def test_one_request_for_all_hosts(self):
        self.client.get.return_value = FakeResponse(200, {
            'allocation_requests': [],
            'provider_summaries': {
                base.uuids.h1: {'resources': {
                    'VCPU': {'capacity': 40, 'used': 3},
                    'MEMORY_MB': {'capacity': 7680, 'used': 2048}}},
                base.uuids.h2: {'resources': {
                    'PCPU': {'capacity': 8, 'used': 4},
                    'MEMORY_MB': {'capacity': 7680, 'used': 0},
                    'CUSTOM_MAGIC': {'capacity': 10, 'used': 1}}},
                base.uuids.child: {'resources': {
                    'CUSTOM_X': {'capacity': 1, 'used': 0}}},
            }})
        result = usage.provider_resources(
            self.ctxt, {base.uuids.h1, base.uuids.h2, base.uuids.h3})
        # Only the capped classes, of the providers asked about: nested
        # providers and custom classes are placement's to fit.
        self.assertEqual({
            base.uuids.h1: {'VCPU': cbase.Resource(40, 3),
                            'MEMORY_MB': cbase.Resource(7680, 2048)},
            base.uuids.h2: {'PCPU': cbase.Resource(8, 4),
                            'MEMORY_MB': cbase.Resource(7680, 0)},
        }, result)
        # The request does not depend on the server's resources.
        self.client.get.assert_called_once_with(
            '/allocation_candidates?resources=MEMORY_MB:1',
            version='1.31', global_request_id=self.ctxt.global_id)

    def test_single_host_uses_in_tree(self):
        self.client.get.return_value = FakeResponse(
            200, {'provider_summaries': {}})
        usage.provider_resources(self.ctxt, {base.uuids.h1})
        self.assertEqual(
            '/allocation_candidates?resources=MEMORY_MB:1&in_tree=%s'
            % base.uuids.h1, self.client.get.call_args[0][0])

    def test_member_of_restricts_the_read(self):
        self.client.get.return_value = FakeResponse(
            200, {'provider_summaries': {}})
        usage.provider_resources(self.ctxt, {base.uuids.h1, base.uuids.h2},
                                 member_of=('agg1', 'agg2'))
        self.assertEqual(
            '/allocation_candidates?resources=MEMORY_MB:1&member_of=agg1'
            '&member_of=agg2', self.client.get.call_args[0][0])

    def test_nothing_to_ask(self):
        self.assertEqual({}, usage.provider_resources(self.ctxt, set()))
        self.client.get.assert_not_called()

    def test_errors(self):
        self.client.get.return_value = FakeResponse(503, text='down')
        error = self.assertRaises(
            usage.UsageUnavailable, usage.provider_resources,
            self.ctxt, {base.uuids.h1})
        self.assertIn('with 503: down', str(error))
        self.client.get.side_effect = ConnectionError('refused')
        error = self.assertRaises(
            usage.UsageUnavailable, usage.provider_resources,
            self.ctxt, {base.uuids.h1})
        self.assertIn('Placement cannot be reached: refused', str(error))


class AdminContextTest(base.TestCase):

    def test_uses_the_current_request_context(self):
        ctxt = nova_context.RequestContext(
            'user', 'project', is_admin=False,
            global_request_id='req-' + 'a' * 36)
        admin = usage.admin_context()
        self.assertTrue(admin.is_admin)
        self.assertEqual(ctxt.global_id, admin.global_id)
        self.assertEqual('project', admin.project_id)


class InventoryCacheTest(base.TestCase):

    def setUp(self):
        super().setUp()
        from nova_livemig_ext.usage import placement
        self.placement = placement
        self.client = base.mock.Mock()
        self.client.get.side_effect = lambda url, **kw: FakeResponse(
            200, {'inventories': {'VCPU': {'total': len(url)}}})
        self.useFixture(base.fixtures.MockPatch(
            'nova.scheduler.client.report.report_client_singleton',
            return_value=self.client))
        self.clock = self.useFixture(base.fixtures.MockPatch(
            'time.monotonic', return_value=1000.0)).mock
        self.ctxt = nova_context.get_admin_context()
        self.cache = placement.InventoryCache()

    def test_reads_once_within_the_bound(self):
        rps = ['rp%d' % i for i in range(20)]
        first = self.cache.get(self.ctxt, rps, 300)
        self.assertEqual(set(rps), set(first))
        self.assertEqual(20, self.client.get.call_count)
        self.clock.return_value = 1200.0
        self.assertEqual(first, self.cache.get(self.ctxt, rps, 300))
        self.assertEqual(20, self.client.get.call_count)

    def test_stale_entries_are_served_and_refreshed_in_background(self):
        threads = []
        self.cache._start = lambda target, *args: threads.append(
            {'target': target, 'args': args})
        self.cache.get(self.ctxt, ['a', 'b'], 300)
        self.clock.return_value = 1301.0
        self.client.get.side_effect = lambda url, **kw: FakeResponse(
            200, {'inventories': {'VCPU': {'total': 99}}})
        served = self.cache.get(self.ctxt, ['a', 'b', 'c'], 300)
        # a and b: the old values now, read again in the background;
        # c: never seen, read before answering.
        self.assertNotEqual(99, served['a']['VCPU']['total'])
        self.assertEqual(99, served['c']['VCPU']['total'])
        self.assertEqual(3, self.client.get.call_count)
        (thread,) = threads
        self.assertEqual((['a', 'b'],), thread['args'])
        # Only one refresh of the same providers at a time.
        self.cache.get(self.ctxt, ['a', 'b'], 300)
        self.assertEqual(1, len(threads))
        thread['target'](*thread['args'])
        self.assertEqual(5, self.client.get.call_count)
        self.assertEqual(99, self.cache.get(self.ctxt, ['a'], 300)
                         ['a']['VCPU']['total'])

    def test_failed_refresh_keeps_the_old_values(self):
        self.cache.get(self.ctxt, ['a'], 300)
        self.client.get.side_effect = ConnectionError('refused')
        self.cache._refresh(['a'])
        self.assertIn('a', self.cache.get(self.ctxt, ['a'], 300))

    def test_zero_reads_every_time(self):
        self.cache.get(self.ctxt, ['rp'], 0)
        self.clock.return_value = 1000.5
        self.cache.get(self.ctxt, ['rp'], 0)
        self.assertEqual(2, self.client.get.call_count)

    def test_failure_is_placement_unavailable(self):
        self.client.get.side_effect = ConnectionError('refused')
        self.assertRaises(self.placement.PlacementUnavailable,
                          self.cache.get, self.ctxt, ['a', 'b'], 300)

    def run_now(self):
        """Run the cache's background work in the calling thread."""
        self.cache._start = lambda target, *args: target(*args)

    def test_prime_reads_ahead_what_requests_then_find(self):
        self.run_now()
        self.cache.prime(lambda ctxt: ['a', 'b', 'c'])
        self.assertEqual(3, self.client.get.call_count)
        self.cache.get(self.ctxt, ['a', 'b', 'c'], 300)
        self.assertEqual(3, self.client.get.call_count)

    def test_failed_prime_leaves_the_reads_to_requests(self):
        self.run_now()

        def lister(ctxt):
            raise ConnectionError('cell database down')
        self.cache.prime(lister)
        self.client.get.side_effect = ConnectionError('refused')
        self.cache.prime(lambda ctxt: ['a'])
        self.client.get.side_effect = lambda url, **kw: FakeResponse(
            200, {'inventories': {'VCPU': {'total': 4}}})
        self.assertEqual({'a': {'VCPU': {'total': 4}}},
                         self.cache.get(self.ctxt, ['a'], 300))
        self.assertEqual(2, self.client.get.call_count)

    def test_concurrent_requests_read_each_inventory_once(self):
        import threading
        import time as real_time
        sleep = real_time.sleep

        def slow(url, **kw):
            sleep(0.02)
            return FakeResponse(200, {'inventories': {'VCPU': {'total': 1}}})
        self.client.get.side_effect = slow
        rps = ['rp%d' % i for i in range(12)]
        results = []
        threads = [threading.Thread(target=lambda: results.append(
            self.cache.get(self.ctxt, rps, 300))) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        self.assertEqual(4, len(results))
        self.assertEqual(12, self.client.get.call_count)
        self.assertEqual(set(rps), set(results[0]))

    def test_waits_for_a_read_in_flight_then_reads_what_failed(self):
        import threading
        # Another thread is reading 'a' and 'b'; this request waits.
        self.cache._reading.update(['a', 'b'])
        results = []
        waiter = threading.Thread(target=lambda: results.append(
            self.cache.get(self.ctxt, ['a', 'b'], 300)))
        waiter.start()
        waiter.join(0.2)
        self.assertTrue(waiter.is_alive())
        self.assertEqual(0, self.client.get.call_count)
        # The other thread got 'a' and failed on 'b': 'b' is read here.
        self.cache._entries['a'] = (1000.0, {'VCPU': {'total': 7}})
        self.cache._done(['a', 'b'])
        waiter.join(10)
        self.assertEqual(7, results[0]['a']['VCPU']['total'])
        self.assertEqual(1, self.client.get.call_count)
        self.assertIn('/resource_providers/b/inventories',
                      self.client.get.call_args[0][0])

    def test_fork_forgets_reads_in_flight_and_primes_again(self):
        self.run_now()
        self.cache.prime(lambda ctxt: ['a', 'b'])
        self.cache.clear()
        self.cache._reading.add('a')
        self.cache._after_fork()
        self.assertEqual(set(), self.cache._reading)
        self.assertEqual(4, self.client.get.call_count)
        self.cache.get(self.ctxt, ['a', 'b'], 300)
        self.assertEqual(4, self.client.get.call_count)

    def test_a_real_fork_primes_again_in_the_child(self):
        """A WSGI server forking its workers while the read-ahead runs."""
        import os
        import threading
        listing = threading.Event()
        release = threading.Event()
        listed_by = []

        def lister(ctxt):
            listed_by.append(os.getpid())
            listing.set()
            release.wait(10)
            return ['a', 'b']
        cache = self.placement.InventoryCache()
        thread = cache.prime(lister)
        self.assertTrue(listing.wait(10))
        # The parent's read-ahead is in flight: the child has no thread
        # doing it, and must start its own.
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover (the child reports through a pipe)
            answer = b'no read-ahead in the child'
            try:
                # Threads do not survive a fork: entries can only come from
                # a read-ahead the child started itself.
                release.set()
                for _ in range(100):
                    if {'a', 'b'} <= set(cache._entries):
                        answer = ('read %s' % sorted(cache._entries)).encode()
                        break
                    threading.Event().wait(0.1)
            finally:
                os.write(write_end, answer)
                os._exit(0)
        os.close(write_end)
        release.set()
        thread.join(10)
        _, status = os.waitpid(pid, 0)
        with os.fdopen(read_end, 'rb') as pipe:
            answer = pipe.read().decode()
        self.assertEqual(0, status)
        self.assertEqual("read ['a', 'b']", answer)
        # The parent's own read-ahead went on and finished.
        self.assertEqual([os.getpid()], listed_by)
        self.assertEqual({'a', 'b'}, set(cache._entries))

    def test_fork_without_prime_starts_nothing(self):
        started = []
        self.cache._start = lambda target, *args: started.append(target)
        self.cache._after_fork()
        self.assertEqual([], started)


class SilentPlacement:
    """A loopback server that accepts connections and never answers.

    What a placement behind a hung proxy, or one stuck on its database,
    looks like to a client.
    """

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(8)
        self.held = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return 'http://127.0.0.1:%d' % self.sock.getsockname()[1]

    def _accept(self):
        while True:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self):
        self.sock.close()
        for conn in self.held:
            conn.close()


class PlacementTimeoutTest(base.TestCase):
    """A placement that never answers: every read ends, 503 for the API.

    Through nova's own report client and a real keystoneauth adapter and
    session, to a real socket on loopback.
    """

    def setUp(self):
        super().setUp()
        self.placement = SilentPlacement()
        self.addCleanup(self.placement.close)
        self.ctxt = nova_context.get_admin_context()

    def client(self, session_timeout=None):
        adapter = ks_adapter.Adapter(
            session=ks_session.Session(timeout=session_timeout),
            service_type='placement',
            endpoint_override=self.placement.url)
        self.useFixture(base.fixtures.MockPatch(
            'nova.scheduler.client.report.report_client_singleton',
            return_value=report.SchedulerReportClient(adapter=adapter)))

    def read(self, wait=10):
        """placement.get in a thread: (seconds, its error), or a failure."""
        outcome = {}

        def run():
            start = time.monotonic()
            try:
                placement.get(self.ctxt, '/resource_providers')
            except placement.PlacementUnavailable as exc:
                outcome['error'] = exc
            outcome['seconds'] = time.monotonic() - start

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        thread.join(wait)
        if thread.is_alive():
            self.fail('the placement read was still waiting after %d s' %
                      wait)
        return outcome['seconds'], outcome.get('error')

    def test_unset_placement_timeout_is_bounded_by_the_plugin(self):
        self.flags(placement_read_timeout=0.5)
        self.client()
        seconds, error = self.read()
        self.assertIsNotNone(error)
        self.assertIn('timed out', str(error))
        # One attempt: a read that timed out is not retried.
        self.assertLess(seconds, 2.0)
        self.assertGreaterEqual(seconds, 0.5)

    def test_placement_timeout_wins_when_set(self):
        # nova builds its session with [placement] timeout; the plugin's
        # own bound then does not apply, not even a longer one.
        self.flags(placement_read_timeout=60)
        self.flags(group='placement', timeout=0.3)
        self.client(session_timeout=0.3)
        seconds, error = self.read()
        self.assertIn('timed out', str(error))
        self.assertLess(seconds, 2.0)
        self.assertIsNone(placement.read_timeout())

    def test_zero_leaves_reads_to_keystoneauth(self):
        self.flags(placement_read_timeout=0)
        self.assertIsNone(placement.read_timeout())
        self.flags(placement_read_timeout=30)
        self.assertEqual(30, placement.read_timeout())
