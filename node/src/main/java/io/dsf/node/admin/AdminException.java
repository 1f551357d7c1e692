package io.dsf.node.admin;

/**
 * A request the node cannot do (unknown op, bad or missing argument, no such vDisk, name taken...),
 * or an error reply as the client sees it; the message is meant for the user as it is. Immutable.
 */
public class AdminException extends Exception {
    public AdminException(String message) { super(message); }
}
