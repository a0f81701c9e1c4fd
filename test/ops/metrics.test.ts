/**
 * /metrics on the ops listener of the real serve(): after proxied requests,
 * upstream failures and store calls, the series carry the expected values,
 * with bounded labels only (no host, path or user).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { baseRawConfig, HOSTS } from '../support/gateway.ts';
import { startUpstream } from '../support/upstream.ts';
import { startServed, type Served } from './harness.ts';

/** Prometheus text → { 'name{a="b"}': value } (label order as exposed) */
function parseExposition(text: string): Map<string, number> {
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    series.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return series;
}

test('/metrics reports proxied requests, upstream latency and errors, store calls, event-loop lag and process metrics', async () => {
  const staff = await startUpstream('staff-app');
  const deadPortal = await startUpstream('portal-app');
  await deadPortal.close(); // its port now refuses connections: 502
  let served: Served | undefined;
  try {
    const gw = (served = await startServed(baseRawConfig(staff.url, deadPortal.url)));
    const send = async (host: string, path: string, cookie?: string) => {
      const res = await gw.request(host, path, cookie ? { cookie } : {});
      await res.body.dump();
      return res.statusCode;
    };
    assert.equal(await send(HOSTS.staff, '/health'), 200);
    assert.equal(await send(HOSTS.staff, '/health'), 200);
    assert.equal(await send(HOSTS.staff, '/assets/app.js'), 200);
    assert.equal(await send(HOSTS.staff, '/private'), 401);
    const cookie = await gw.sessionCookie(HOSTS.staff); // createUser through the instrumented store
    assert.equal(await send(HOSTS.staff, '/private', cookie), 200); // getUser (revocation check)
    assert.equal(await send(HOSTS.acme, '/assets/app.css'), 502);
    assert.equal(await send(HOSTS.staff, '/.auth/jwks.json'), 200); // the gateway's own endpoint: not a proxied request
    assert.equal(await send('unknown.example.test', '/'), 421);
    await assert.rejects(gw.running.store.updateUser('staff', 'nobody', { displayName: 'x' }), { code: 'NOT_FOUND' });
    assert.equal((await gw.ops('/readyz')).status, 200); // ping

    const scrape = await gw.ops('/metrics');
    assert.equal(scrape.status, 200);
    const m = parseExposition(scrape.body);
    const value = (series: string) => m.get(series);

    assert.equal(value('regentra_proxied_requests_total{site="staff",status_class="2xx"}'), 4);
    assert.equal(value('regentra_proxied_requests_total{site="staff",status_class="4xx"}'), 1);
    assert.equal(value('regentra_proxied_requests_total{site="portal",status_class="5xx"}'), 1);
    assert.equal([...m.keys()].filter((k) => k.startsWith('regentra_proxied_requests_total')).length, 3);

    assert.equal(value('regentra_upstream_response_seconds_count{site="staff"}'), 4);
    assert.ok((value('regentra_upstream_response_seconds_sum{site="staff"}') ?? -1) > 0);
    assert.equal(value('regentra_upstream_response_seconds_bucket{le="+Inf",site="staff"}'), 4);
    assert.equal(value('regentra_upstream_errors_total{site="portal",kind="unavailable"}'), 1);

    assert.equal(value('regentra_store_operation_seconds_count{operation="createUser"}'), 1);
    assert.ok((value('regentra_store_operation_seconds_count{operation="getUser"}') ?? 0) >= 1);
    assert.equal(value('regentra_store_operation_seconds_count{operation="ping"}'), 1);
    assert.equal(value('regentra_store_operation_seconds_count{operation="migrate"}'), undefined, 'migrations ran before the decorator');
    assert.equal(value('regentra_store_errors_total{operation="updateUser",code="NOT_FOUND"}'), 1);

    const lag = value('regentra_event_loop_lag_p99_seconds');
    assert.ok(lag !== undefined && lag >= 0 && lag < 5, `event-loop lag ${lag}`);
    assert.ok((value('regentra_process_cpu_user_seconds_total') ?? 0) > 0);
    assert.ok((value('regentra_nodejs_heap_size_used_bytes') ?? 0) > 0);
    assert.equal(value('regentra_config_generation'), 1);

    // declared even before their first sample
    for (const name of [
      'regentra_signins_total',
      'regentra_lockouts_total',
      'regentra_idp_request_seconds',
      'regentra_idp_errors_total',
      'regentra_config_reloads_total',
    ]) {
      assert.match(scrape.body, new RegExp(`^# HELP ${name} `, 'm'));
    }
    // bounded labels: no host, path or id ever appears
    assert.doesNotMatch(scrape.body, /example\.test|\/health|\/private|user-/);
  } finally {
    await served?.close();
    await staff.close();
  }
});
