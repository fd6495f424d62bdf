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

"""Placement reads for the API: inventories, usage and allocations.

Placement has no bulk read of inventories or usages. Usage of many hosts
comes from one ``GET /allocation_candidates`` whose provider summaries
carry ``capacity`` and ``used`` of every provider with a free VCPU; the
few providers it leaves out (no free VCPU) are read one by one. Inventories
(total, reserved, allocation ratio) change rarely: they are read ahead
when nova-api loads the extension, cached per process for ``[livemig_ext]
inventory_cache_seconds`` and then refreshed in the background (see
:class:`InventoryCache`).

Every placement read of the package, the API's and the scheduler
filter's and weigher's alike, is a GET made by :func:`get` through nova's
report client, which keystoneauth's adapter configures from nova's
``[placement]`` options. A read that meets a transient error is made
once more, unless those options already retry that kind of error:

* a failed connection (refused, or an idle connection reset by
  placement's server): keystoneauth retries it ``connect_retries`` times
  when that option is set; when it is unset, :func:`get` retries once;
* an answer of 502, 503 or 504 (or of ``retriable_status_codes`` when
  set): keystoneauth retries it ``status_code_retries`` times when that
  option is set; when it is unset, :func:`get` retries once.

The pause before that one retry is ``connect_retry_delay`` or
``status_code_retry_delay`` when set, else :data:`RETRY_DELAY_SECONDS`. A
read that timed out is not retried. Each attempt is bounded by
``[placement] timeout`` (keystoneauth's session option) when it is set,
else by ``[livemig_ext] placement_read_timeout`` (30 s by default; nova
leaves ``[placement] timeout`` unset, and keystoneauth would then wait as
long as the connection lives), so a read takes at most two attempts and
one pause: then the caller gets :class:`PlacementUnavailable`, a 503 from
the API.
"""

from concurrent import futures
import math
import os
import threading
import time

from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import exceptions as ks_exc
import nova.conf
from nova import context as nova_context
from nova.scheduler.client import report
from oslo_config import cfg
from oslo_log import log as logging

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)

RESOURCE_CLASSES = ('VCPU', 'MEMORY_MB', 'DISK_GB')
# in_tree on GET /allocation_candidates needs 1.31.
VERSION = '1.31'
# Inventory reads in flight at once when the cache is cold: placement is a
# remote service, so the wait is mostly network and placement's own time.
READ_CONCURRENCY = 8
# How long a request waits for inventories another thread is reading
# before it reads them itself.
WAIT_SECONDS = 30
# Answers a second attempt may turn into a 200: a proxy in front of
# placement, or placement itself, that is restarting or overloaded.
RETRIABLE_STATUS_CODES = (502, 503, 504)
# The pause before the one retry get() makes, when [placement] sets none.
RETRY_DELAY_SECONDS = 0.1


class PlacementUnavailable(Exception):
    """Placement failed or could not be reached."""


def read_timeout():
    """Seconds one attempt may wait, or None for keystoneauth's own.

    ``[placement] timeout`` when set (keystoneauth's session applies it);
    else ``[livemig_ext] placement_read_timeout``, 0 meaning unbounded.
    """
    if CONF.placement.timeout is not None:
        return None
    try:
        seconds = CONF.livemig_ext.placement_read_timeout
    except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
        # The group is registered by whoever loads the plugin; a read
        # before that (a tool importing this module) keeps nova's way.
        return None
    return seconds or None


def _takes_timeout(client):
    """Whether ``client`` reads through nova's get() and a ksa adapter.

    nova's report client's get() takes no timeout; the keystoneauth adapter
    it reads through takes one per request. When something has put its
    own get() in the place of nova's (nova's functional test fixture
    does, to reach an in-process placement), that get() is used as it
    is.
    """
    get = getattr(type(client), 'get', None)
    # A replacement made with functools.wraps keeps nova's name and says
    # what it wraps.
    return (getattr(get, '__qualname__', None) == 'SchedulerReportClient.get'
            and not hasattr(get, '__wrapped__')
            and isinstance(getattr(client, '_client', None),
                           ks_adapter.Adapter))


def _attempt(client, ctxt, url, version):
    """One GET; (response, None), or (None, the connection failure)."""
    timeout = read_timeout()
    try:
        if timeout is None or not _takes_timeout(client):
            return client.get(url, version=version,
                              global_request_id=ctxt.global_id), None
        return client._client.get(
            url, microversion=version, global_request_id=ctxt.global_id,
            timeout=timeout), None
    except ks_exc.ConnectFailure as exc:
        return None, exc
    except Exception as exc:
        raise PlacementUnavailable(
            'Placement cannot be reached: %s' % exc) from exc


def _retry_delay(resp, failure):
    """Seconds to pause before the one retry, or None for no retry.

    keystoneauth has retried already what a ``[placement]`` option set
    tells it to: one layer of retries, never two.
    """
    conf = CONF.placement
    if failure is not None:
        retries, delay = conf.connect_retries, conf.connect_retry_delay
    elif resp is not None and resp.status_code in (
            conf.retriable_status_codes or RETRIABLE_STATUS_CODES):
        retries, delay = conf.status_code_retries, (
            conf.status_code_retry_delay)
    else:
        return None
    if retries is not None:
        return None
    return RETRY_DELAY_SECONDS if delay is None else delay


def get(ctxt, url, version=VERSION):
    """GET ``url`` from placement; its JSON body, or PlacementUnavailable.

    Idempotent, so a connection failure or a 502/503/504 is retried once
    when nova's ``[placement]`` options do not retry it already (see the
    module's documentation).
    """
    client = report.report_client_singleton()
    resp, failure = _attempt(client, ctxt, url, version)
    delay = _retry_delay(resp, failure)
    if delay is not None:
        LOG.warning('Placement GET %(url)s failed (%(error)s); retrying '
                    'once in %(delay).1f s',
                    {'url': url.split('?')[0], 'delay': delay,
                     'error': failure or resp.status_code})
        time.sleep(delay)
        resp, failure = _attempt(client, ctxt, url, version)
    if failure is not None:
        raise PlacementUnavailable(
            'Placement cannot be reached: %s' % failure) from failure
    if resp is None or resp.status_code != 200:
        raise PlacementUnavailable(
            'Placement answered GET %s with %s: %s'
            % (url.split('?')[0], getattr(resp, 'status_code', None),
               getattr(resp, 'text', '')[:200]))
    return resp.json()


class InventoryCache:
    """Inventories of providers, kept for a bounded time in this process.

    A provider never seen is read before the request goes on, unless
    another thread of the process is reading it already: then the request
    waits for that read instead of making its own. One whose entry is older
    than ``max_age`` is served from the cache while a background thread
    reads it again, so that no request waits for a whole listing of
    inventories after the first: a value served is at most ``max_age``
    plus one refresh old. ``max_age`` 0 reads every inventory before
    answering.

    :meth:`prime` reads ahead, in the background, the inventories of every
    compute host, so that the first listing of a new nova-api process finds
    them (nova-api calls it when it loads the extension). A process forked
    while priming (a WSGI server that loads the app before it forks its
    workers) primes again in the child.

    Safe to share between requests and threads: entries are immutable and
    replaced whole.
    """

    def __init__(self):
        self._entries = {}
        self._reading = set()
        self._cond = threading.Condition()
        self._lister = None
        os.register_at_fork(after_in_child=self._after_fork)

    def clear(self):
        with self._cond:
            self._entries.clear()

    def get(self, ctxt, rp_uuids, max_age):
        """provider uuid -> {resource class: inventory dict}."""
        now = time.monotonic()
        if max_age <= 0:
            self._read(ctxt, list(rp_uuids), now)
        else:
            entries = self._entries
            missing = [rp for rp in rp_uuids if rp not in entries]
            stale = [rp for rp in rp_uuids
                     if rp in entries and now - entries[rp][0] > max_age]
            if missing:
                self._read_shared(ctxt, missing, now)
            if stale:
                self._refresh_later(stale)
        return {rp_uuid: self._entries[rp_uuid][1] for rp_uuid in rp_uuids}

    def prime(self, lister):
        """Read the inventories of ``lister(context)`` in the background.

        :param lister: a callable returning the provider uuids to read.
        :returns: the thread that reads them.
        """
        self._lister = lister
        return self._start(self._prime)

    def _prime(self):
        started = time.monotonic()
        try:
            ctxt = nova_context.get_admin_context()
            todo = self._claim(rp for rp in self._lister(ctxt)
                               if rp not in self._entries)
            self._read_claimed(ctxt, todo, time.monotonic())
        except Exception as exc:
            # Requests read what priming could not.
            LOG.warning('Could not read placement inventories ahead: %s', exc)
        else:
            LOG.info('Read %d placement inventories ahead in %.1f s',
                     len(todo), time.monotonic() - started)

    def _read_shared(self, ctxt, rp_uuids, now):
        """Read what no thread is reading; wait for the others' reads."""
        self._read_claimed(ctxt, self._claim(rp_uuids), now)
        with self._cond:
            self._cond.wait_for(
                lambda: self._reading.isdisjoint(rp_uuids),
                timeout=WAIT_SECONDS)
        # A read of another thread that failed or is late: read it here,
        # so that its error, if any, reaches this request.
        late = [rp for rp in rp_uuids if rp not in self._entries]
        if late:
            self._read(ctxt, late, now)

    def _claim(self, rp_uuids):
        """Mark as being read, and return, those no thread is reading."""
        with self._cond:
            mine = [rp for rp in rp_uuids if rp not in self._reading]
            self._reading.update(mine)
        return mine

    def _read_claimed(self, ctxt, rp_uuids, now):
        """Read providers claimed by :meth:`_claim`, then release them."""
        try:
            self._read(ctxt, rp_uuids, now)
        finally:
            self._done(rp_uuids)

    def _done(self, rp_uuids):
        with self._cond:
            self._reading.difference_update(rp_uuids)
            self._cond.notify_all()

    def _refresh_later(self, rp_uuids):
        todo = self._claim(rp_uuids)
        if todo:
            self._start(self._refresh, todo)

    @staticmethod
    def _start(target, *args):
        thread = threading.Thread(target=target, args=args,
                                  name='livemig-inventory-read', daemon=True)
        thread.start()
        return thread

    def _refresh(self, rp_uuids):
        try:
            self._read_claimed(nova_context.get_admin_context(), rp_uuids,
                               time.monotonic())
        except Exception as exc:
            # The old values stay; the next request schedules a new read.
            LOG.warning('Could not refresh %d placement inventories: %s',
                        len(rp_uuids), exc)

    def _read(self, ctxt, rp_uuids, now):
        """Read and keep inventories; the first error after all are done."""
        def read(rp_uuid):
            body = get(ctxt, '/resource_providers/%s/inventories' % rp_uuid)
            with self._cond:
                self._entries[rp_uuid] = (now, body.get('inventories', {}))

        if not rp_uuids:
            return
        if len(rp_uuids) == 1:
            read(rp_uuids[0])
            return
        workers = min(READ_CONCURRENCY, len(rp_uuids))
        with futures.ThreadPoolExecutor(max_workers=workers) as pool:
            done = [pool.submit(read, rp_uuid) for rp_uuid in rp_uuids]
        for future in done:
            future.result()

    def _after_fork(self):
        # Threads do not survive a fork: what they were reading is not
        # being read in the child, and a lock may be held.
        self._cond = threading.Condition()
        self._reading = set()
        if self._lister is not None:
            self._start(self._prime)


INVENTORIES = InventoryCache()


def usages(ctxt, rp_uuids):
    """provider uuid -> {resource class: used}, fresh from placement.

    One bulk request, plus one per provider it did not cover.
    """
    wanted = set(rp_uuids)
    if not wanted:
        return {}
    if len(wanted) == 1:
        (rp_uuid,) = wanted
        body = get(ctxt, '/resource_providers/%s/usages' % rp_uuid)
        return {rp_uuid: body.get('usages', {})}
    body = get(ctxt, '/allocation_candidates?resources=VCPU:1')
    result = {}
    for rp_uuid, summary in body.get('provider_summaries', {}).items():
        if rp_uuid in wanted:
            result[rp_uuid] = {rc: values['used'] for rc, values in
                               summary.get('resources', {}).items()}
    for rp_uuid in sorted(wanted - set(result)):
        body = get(ctxt, '/resource_providers/%s/usages' % rp_uuid)
        result[rp_uuid] = body.get('usages', {})
    return result


def allocations(ctxt, rp_uuid):
    """consumer uuid -> {resource class: amount} on one provider."""
    body = get(ctxt, '/resource_providers/%s/allocations' % rp_uuid)
    return {consumer: alloc.get('resources', {})
            for consumer, alloc in body.get('allocations', {}).items()}


def resource_entry(inventory, used, max_utilization=1.0, aggregate=None):
    """The API's entry for one resource class of a host.

    Beside placement's figures, the limit the scheduler applies to moves
    onto the host: ``max_utilization`` (the cap in force, from
    ``[livemig_ext]`` or, when ``max_utilization_aggregate`` names one, an
    aggregate's metadata), ``allowed`` (the most that may be in use after
    a move, ``max_utilization x capacity`` rounded down, as the scheduler
    compares whole amounts with it) and ``room`` (``allowed - used``, never
    below 0: the most an incoming move may bring).

    :param max_utilization: the cap in force for this resource class.
    :param aggregate: the name of the aggregate the cap comes from, or
        None when the option applies.
    """
    total = inventory.get('total', 0)
    reserved = inventory.get('reserved', 0)
    ratio = inventory.get('allocation_ratio', 1.0)
    capacity = int((total - reserved) * ratio)
    allowed = math.floor(max_utilization * capacity)
    return {'total': total, 'reserved': reserved, 'allocation_ratio': ratio,
            'capacity': capacity, 'used': used, 'free': capacity - used,
            'max_utilization': max_utilization,
            'max_utilization_aggregate': aggregate,
            'allowed': allowed, 'room': max(allowed - used, 0)}


def resources(inventories, used, caps=None):
    """{resource class: entry} for the classes nova's compute reports.

    :param caps: resource class -> (cap in force, aggregate name or None);
        a class missing from it is not capped (1.0).
    """
    caps = caps or {}
    return {rc: resource_entry(inventories[rc], used.get(rc, 0),
                               *caps.get(rc, (1.0, None)))
            for rc in RESOURCE_CLASSES if rc in inventories}
