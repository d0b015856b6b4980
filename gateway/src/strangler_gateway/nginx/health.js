// Route a gRPC health call (grpc.health.v1.Health/Check or /Watch) to the service it names.
//
// A health call's path is the same whichever service it asks about: the name is in the request
// message (HealthCheckRequest.service, field 1). nginx buffers the one small message (the client
// half-closes after it on both methods), this handler reads the name from the gRPC frame, and
// an internal redirect sends the call, body and all, to the owner's named location; the rendered
// map $sf_health_location names it. A name the table does not list, the empty name (the server as
// a whole) and a message that cannot be read (compressed, malformed) go to the owner of Health,
// which answers NOT_FOUND for names it does not know.

function readVarint(buf, cursor) {
    var value = 0;
    var shift = 0;
    while (cursor.at < buf.length && shift < 35) {
        var octet = buf[cursor.at++];
        value += (octet & 0x7f) * Math.pow(2, shift);
        if (octet < 0x80) {
            return value;
        }
        shift += 7;
    }
    return -1;
}

// Return field 1 (a string) of the frame's message, or "" when it is absent or unreadable.
function serviceName(buf) {
    // Byte 0: compressed flag (a compressed message cannot be read here); bytes 1-4: length.
    if (!buf || buf.length < 5 || buf[0] !== 0) {
        return "";
    }
    var end = Math.min(buf.length, 5 + buf.readUInt32BE(1));
    var cursor = { at: 5 };
    while (cursor.at < end) {
        var tag = readVarint(buf, cursor);
        var wire = tag & 7;
        if (tag < 0 || (wire !== 0 && wire !== 2)) {
            return "";
        }
        var size = readVarint(buf, cursor);
        if (wire === 0) {
            continue;
        }
        if (size < 0 || cursor.at + size > end) {
            return "";
        }
        if (tag >>> 3 === 1) {
            return buf.slice(cursor.at, cursor.at + size).toString();
        }
        cursor.at += size;
    }
    return "";
}

function route(r) {
    r.variables.sf_health_service = serviceName(r.requestBuffer);
    r.internalRedirect(r.variables.sf_health_location);
}

export default { route, serviceName };
