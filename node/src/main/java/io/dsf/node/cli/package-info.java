/**
 * The {@code dsf} subcommands, one picocli class each, plus shared converters; control plane
 * only: commands run on the launching thread and print to the writers picocli gives them
 * (stdout carries results, stderr progress and diagnostics).
 */
package io.dsf.node.cli;
