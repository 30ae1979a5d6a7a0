// Connection draining for shutdown: which sockets have requests in flight, so that closing can be prompt for
// idle ones and patient, within a bound, for busy ones.
import type http from 'node:http';
import type { Socket } from 'node:net';

/**
 * Counts the requests in flight on each socket, so that shutdown can stop accepting, close every socket with
 * nothing in flight at once (idle keep-alive ones, ones a client opened without sending anything yet, SSE ones
 * whose stream just ended), close the others as their last response ends, and cut what is left after graceMs.
 */
export class ConnectionTracker {
  private readonly inFlight = new Map<Socket, number>();
  private closing = false;

  add(socket: Socket): void {
    this.inFlight.set(socket, 0);
    socket.once('close', () => this.inFlight.delete(socket));
  }

  request(req: http.IncomingMessage, res: http.ServerResponse): void {
    const { socket } = req;
    this.inFlight.set(socket, (this.inFlight.get(socket) ?? 0) + 1);
    res.once('close', () => {
      const left = (this.inFlight.get(socket) ?? 1) - 1;
      if (!this.inFlight.has(socket)) return;
      this.inFlight.set(socket, left);
      if (this.closing && left === 0) socket.end();
    });
  }

  async close(server: http.Server, graceMs: number): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // end(), not destroy(): what was written (an SSE `complete`) still reaches the client.
    for (const [socket, count] of this.inFlight) if (count === 0) socket.end();
    const timer = setTimeout(() => {
      for (const socket of this.inFlight.keys()) socket.destroy();
    }, graceMs);
    await closed;
    clearTimeout(timer);
  }
}
