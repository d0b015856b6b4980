// Live traffic weights: the share of users each canary route sends to new, and the share of
// reads each shadow route mirrors, read per request from shared memory.
//
// A change of percentage must not cost a request, and a reload closes idle keep-alive
// connections under their clients. So percentages live in a shared dictionary that every worker
// reads on each request, and `strangler shift` writes them through the gateway's control socket
// (a Unix socket, reachable only on this machine) without a reload. The route table stays the
// source of truth: each rendered config carries its percentages as the fallback values, so a
// restarted nginx (whose dictionary starts empty) serves exactly what the table says.
//
// Keys are scoped by the config's layout id (the config with every percentage left out): workers
// of an older layout, still finishing requests after a reload, never read a newer layout's
// weights, and a layout used again later never inherits stale ones (they are written before the
// reload that brings it back).

const DICT = 'sf_weights';

function live(r, name, rendered) {
    const value = ngx.shared[DICT].get(r.variables.sf_layout + ':' + name);
    return value === undefined ? rendered : value;
}

// The route's share of users on new, as logged in `split`.
function split(r) {
    if (r.variables.sf_mode !== 'canary') {
        return r.variables.sf_split;
    }
    return live(r, r.variables.sf_route, r.variables.sf_split);
}

// The side the user's bucket falls on under the live share.
function side(r) {
    return Number(r.variables.sf_bucket) < Number(split(r)) ? 'new' : 'legacy';
}

// "1" when this read is mirrored to the comparator under the live share.
function sampled(r) {
    const share = live(r, r.variables.sf_route, r.variables.sf_mirror_percent);
    return Number(r.variables.sf_sample) < Number(share) ? '1' : '';
}

// The id of the config whose percentages are live (the X-Gateway-Config header).
function config(r) {
    return live(r, 'config', r.variables.sf_rendered_config);
}

function valid(body) {
    if (typeof body !== 'object' || body === null || typeof body.layout !== 'string'
        || typeof body.config !== 'string' || typeof body.weights !== 'object') {
        return false;
    }
    return Object.keys(body.weights).every(function (name) {
        const percent = body.weights[name];
        return /^[A-Za-z0-9_.-]+$/.test(name) && Number.isInteger(percent)
            && percent >= 0 && percent <= 100;
    });
}

// PUT {"layout", "config", "weights": {route: percent}}: the percentages first, the id last,
// so a client that sees the new id also gets the new percentages.
function update(r) {
    let body;
    try {
        body = JSON.parse(r.requestText);
    } catch (e) {
        body = null;
    }
    if (!valid(body)) {
        r.return(400, '{"error":{"code":"invalid_weights","message":"expected {layout, config, weights}"}}\n');
        return;
    }
    const dict = ngx.shared[DICT];
    Object.keys(body.weights).forEach(function (name) {
        dict.set(body.layout + ':' + name, String(body.weights[name]));
    });
    dict.set(body.layout + ':config', body.config);
    r.return(204);
}

// GET: the live values of the serving layout.
function show(r) {
    const dict = ngx.shared[DICT];
    const prefix = r.variables.sf_layout + ':';
    const values = {};
    dict.keys().forEach(function (key) {
        if (key.startsWith(prefix)) {
            values[key.slice(prefix.length)] = dict.get(key);
        }
    });
    r.return(200, JSON.stringify({layout: r.variables.sf_layout, values: values}) + '\n');
}

// The control listener's one location: PUT writes, anything else reads.
function control(r) {
    if (r.method === 'PUT') {
        update(r);
    } else {
        show(r);
    }
}

export default {split, side, sampled, config, control};
