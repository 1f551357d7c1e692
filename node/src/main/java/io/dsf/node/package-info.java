/**
 * The runnable node and the {@code dsf} entry point; control plane only: {@link io.dsf.node.Main}
 * runs on the launching thread and hands data-plane work to the threads of the modules it wires.
 */
package io.dsf.node;
