/**
 * What a `wsrpc` command needs of the process, injected so that tests can run
 * a command in-process: output, stdin, whether stdout is a terminal, signals
 * and exit. {@linkcode denoIO} is the real thing; tests build theirs with
 * {@linkcode cliIO} over strings.
 */

import { safeLines } from "../_safe_text.ts";

/** The process as a command sees it. */
export interface CliIO {
  /**
   * Writes `text` and a line break to stdout, every line made safe (see
   * `_safe_text.ts`). Throws `Deno.errors.BrokenPipe` once the reader is gone.
   */
  print(text: string): void;
  /** As {@linkcode CliIO.print}, to stderr. */
  printError(text: string): void;
  /** Reads stdin to its end. */
  readStdin(): Promise<string>;
  /** Whether stdout is a terminal (`call` indents there). */
  isTerminal(): boolean;
  /** Calls `listener` on `signal` until the returned function is called. */
  onSignal(signal: Deno.Signal, listener: () => void): () => void;
  /** Ends the process at once (a second signal while `serve` shuts down). */
  exit(code: number): void;
}

/** A {@linkcode CliIO} whose output is not yet made safe: one raw line per call. */
export interface RawIO extends Omit<CliIO, "print" | "printError"> {
  writeLine(stream: "stdout" | "stderr", line: string): void;
}

/**
 * The {@linkcode CliIO} over `raw`. Server-supplied text (responses, pushes,
 * error messages, close reasons, frames) reaches the user through these two
 * writers only, and both make every line safe: no terminal escape or bidi
 * control gets through. Where such text is embedded in a message, `safeText`
 * also keeps it on one line.
 */
export function cliIO(raw: RawIO): CliIO {
  return {
    print: (text) => raw.writeLine("stdout", safeLines(text)),
    printError: (text) => raw.writeLine("stderr", safeLines(text)),
    readStdin: () => raw.readStdin(),
    isTerminal: () => raw.isTerminal(),
    onSignal: (signal, listener) => raw.onSignal(signal, listener),
    exit: (code) => raw.exit(code),
  };
}

const encoder = new TextEncoder();

/** The real process: Deno's stdio, signals and exit. */
export function denoIO(): CliIO {
  return cliIO({
    writeLine(stream, line) {
      if (stream === "stderr") return console.error(line);
      const bytes = encoder.encode(`${line}\n`);
      for (let offset = 0; offset < bytes.length;) {
        offset += Deno.stdout.writeSync(bytes.subarray(offset));
      }
    },
    readStdin: () => new Response(Deno.stdin.readable).text(),
    isTerminal: () => Deno.stdout.isTerminal(),
    onSignal(signal, listener) {
      Deno.addSignalListener(signal, listener);
      return () => Deno.removeSignalListener(signal, listener);
    },
    exit: (code) => Deno.exit(code),
  });
}
