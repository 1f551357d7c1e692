package io.dsf.stargate.replication;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A peer node: its id, the address its {@link ReplicaService} listens on and its availability
 * domain, as given by {@code --peers ID@HOST:PORT[/block=B][/rack=R][/node=N],...}. Immutable;
 * thread safe.
 */
public record PeerAddress(String id, String host, int port, Domain domain) {
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,31}");

    public PeerAddress {
        checkId(id);
        if (host == null || host.isEmpty()) throw new IllegalArgumentException("peer " + id + ": empty host");
        if (port < 1 || port > 65535) throw new IllegalArgumentException("peer " + id + ": port must be 1..65535: " + port);
        if (domain == null) domain = Domain.of(id);
    }

    /** A peer of which only the id is known for its domain (its own box, no block or rack). */
    public PeerAddress(String id, String host, int port) { this(id, host, port, null); }

    /** Node ids: 1-32 of A-Z a-z 0-9 . _ - (not starting with . _ -); they travel as ASCII in every replication message. */
    public static String checkId(String id) {
        if (id == null || !ID.matcher(id).matches())
            throw new IllegalArgumentException("node id '" + id + "': use 1-32 of A-Z a-z 0-9 . _ - (not starting with . _ -)");
        return id;
    }

    public InetSocketAddress socketAddress() { return new InetSocketAddress(host, port); }

    @Override
    public String toString() { return id + "@" + host + ":" + port; }

    /** The {@code --peers} form, domain labels included. */
    public String spec() {
        StringBuilder b = new StringBuilder(toString());
        if (!domain.node().equals(id)) b.append("/node=").append(domain.node());
        if (domain.block() != null) b.append("/block=").append(domain.block());
        if (domain.rack() != null) b.append("/rack=").append(domain.rack());
        return b.toString();
    }

    /** Parses {@code HOST:PORT} ({@code [v6]:PORT} for IPv6). */
    public static InetSocketAddress parseHostPort(String s) {
        int c = s.lastIndexOf(':');
        if (c <= 0 || c == s.length() - 1) throw new IllegalArgumentException("expected HOST:PORT: '" + s + "'");
        String host = s.substring(0, c);
        if (host.startsWith("[") && host.endsWith("]")) host = host.substring(1, host.length() - 1);
        int port;
        try {
            port = Integer.parseInt(s.substring(c + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("bad port in '" + s + "'");
        }
        if (port < 0 || port > 65535) throw new IllegalArgumentException("port must be 0..65535 in '" + s + "'");
        return InetSocketAddress.createUnresolved(host, port);
    }

    /** Parses {@code ID@HOST:PORT[/key=value...],...}; ids must be distinct. */
    public static List<PeerAddress> parseList(String s) {
        List<PeerAddress> out = new ArrayList<>();
        if (s == null || s.isBlank()) return out;
        for (String part : s.split(",")) {
            String p = part.trim();
            int at = p.indexOf('@');
            if (at <= 0) throw new IllegalArgumentException("expected ID@HOST:PORT: '" + p + "'");
            String rest = p.substring(at + 1), labels = null;
            int slash = rest.indexOf('/');
            if (slash >= 0) {
                labels = rest.substring(slash + 1);
                rest = rest.substring(0, slash);
            }
            InetSocketAddress a = parseHostPort(rest);
            String id = checkId(p.substring(0, at));
            Domain d;
            try {
                d = Domain.parse(labels, "/", id);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("peer " + id + ": " + e.getMessage());
            }
            PeerAddress pa = new PeerAddress(id, a.getHostString(), a.getPort(), d);
            for (PeerAddress q : out)
                if (q.id().equals(pa.id())) throw new IllegalArgumentException("peer id " + pa.id() + " given twice");
            out.add(pa);
        }
        return out;
    }
}
