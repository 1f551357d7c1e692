/**
 * Panama FFM bindings, one package per C library, laid out the way jextract lays them out.
 * Threading: the bindings are stateless static handles and thread safe; errno capture segments
 * are per calling thread.
 */
package io.dsf.bindings;
