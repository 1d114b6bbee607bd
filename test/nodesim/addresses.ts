// Loopback address pools. Nodes and pods never get the 10.x addresses moto
// hands out: this machine must not send traffic off loopback, and every
// 127.0.0.0/8 address is bindable on Linux without configuration.
export class AddressPool {
  private readonly prefix: string;
  private readonly used = new Set<string>();
  private next = 0;

  /** prefix is the first two octets, e.g. "127.10". */
  constructor(prefix: string) {
    this.prefix = prefix;
  }

  reserve(ip: string): void {
    this.used.add(ip);
  }

  release(ip: string): void {
    this.used.delete(ip);
  }

  /** Round-robin so a released address is not handed out again at once (stale hosts entries). */
  allocate(): string {
    for (let i = 0; i < 256 * 254; i++) {
      const n = this.next;
      this.next = (this.next + 1) % (256 * 254);
      const ip = `${this.prefix}.${Math.floor(n / 254)}.${(n % 254) + 1}`;
      if (!this.used.has(ip)) {
        this.used.add(ip);
        return ip;
      }
    }
    throw new Error(`address pool ${this.prefix}.0.0/16 exhausted`);
  }
}
