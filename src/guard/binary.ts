// What platform an executable or shared library was built for, from the first
// bytes of the file: ELF, Mach-O (thin and universal) and PE headers.

type BinaryFormat = 'ELF' | 'Mach-O' | 'PE';

export interface BinaryKind {
  format: BinaryFormat;
  /** GOARCH names; a universal Mach-O file holds several. Unknown machines get a descriptive name. */
  architectures: string[];
  /** GOOS, or undefined where the header does not say (ELF's System V OS ABI, used by most Linux files). */
  os?: string;
}

/** How many bytes of a file `binaryKind` looks at first. */
export const HEAD_BYTES = 1024;

/** Reads `length` bytes at `offset` of the same file (fewer at its end). */
type ReadAt = (offset: number, length: number) => Buffer;

// GOARCH of an ELF machine, by class (32/64) and byte order.
const ELF_MACHINES: ReadonlyMap<number, Record<string, string>> = new Map<number, Record<string, string>>([
  [2, { '32be': 'sparc' }],
  [3, { '32le': '386' }],
  [8, { '32be': 'mips', '32le': 'mipsle', '64be': 'mips64', '64le': 'mips64le' }],
  [20, { '32be': 'ppc' }],
  [21, { '64be': 'ppc64', '64le': 'ppc64le' }],
  [22, { '32be': 's390', '64be': 's390x' }],
  [40, { '32le': 'arm', '32be': 'armbe' }],
  [43, { '64be': 'sparc64' }],
  [62, { '64le': 'amd64', '32le': 'amd64p32' }],
  [183, { '64le': 'arm64', '64be': 'arm64be' }],
  [243, { '32le': 'riscv', '64le': 'riscv64' }],
  [258, { '64le': 'loong64' }],
]);

// ELF e_ident[EI_OSABI] values that name an OS; 0 (System V) names none.
const ELF_OS_ABIS: ReadonlyMap<number, string> = new Map([
  [2, 'netbsd'],
  [3, 'linux'],
  [6, 'solaris'],
  [9, 'freebsd'],
  [12, 'openbsd'],
]);

const MACHO_CPUS: ReadonlyMap<number, string> = new Map([
  [7, '386'],
  [0x01000007, 'amd64'],
  [12, 'arm'],
  [0x0100000c, 'arm64'],
  [0x0200000c, 'arm64_32'],
  [18, 'ppc'],
  [0x01000012, 'ppc64'],
]);

const PE_MACHINES: ReadonlyMap<number, string> = new Map([
  [0x14c, '386'],
  [0x8664, 'amd64'],
  [0x1c0, 'arm'],
  [0x1c2, 'arm'],
  [0x1c4, 'arm'],
  [0xaa64, 'arm64'],
  [0x5032, 'riscv'],
  [0x5064, 'riscv64'],
  [0x6264, 'loong64'],
]);

/**
 * The platform of an executable or shared library, or undefined for anything
 * else: other files, and binaries that are not run as they are (ELF and
 * Mach-O objects and core files, .NET assemblies, EFI applications).
 */
export function binaryKind(head: Buffer, readAt: ReadAt): BinaryKind | undefined {
  if (head.length < 20) return undefined;
  if (head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46) return elfKind(head);
  const magic = head.readUInt32BE(0);
  if (magic === 0xfeedface || magic === 0xfeedfacf) return machoKind(head, false);
  if (magic === 0xcefaedfe || magic === 0xcffaedfe) return machoKind(head, true);
  if (magic === 0xcafebabe || magic === 0xcafebabf) return universalKind(head, readAt, magic === 0xcafebabf);
  if (head[0] === 0x4d && head[1] === 0x5a) return peKind(head, readAt);
  return undefined;
}

function elfKind(head: Buffer): BinaryKind | undefined {
  const bits = head[4] === 1 ? '32' : head[4] === 2 ? '64' : undefined;
  const little = head[5] === 1 ? true : head[5] === 2 ? false : undefined;
  if (bits === undefined || little === undefined) return undefined;
  const u16 = (at: number) => (little ? head.readUInt16LE(at) : head.readUInt16BE(at));
  const type = u16(16);
  // ET_EXEC and ET_DYN only: relocatable objects (.o, kernel modules) are inputs to a linker.
  if (type !== 2 && type !== 3) return undefined;
  const machine = u16(18);
  const order = `${bits}${little ? 'le' : 'be'}`;
  const arch = ELF_MACHINES.get(machine)?.[order] ?? `ELF machine ${machine} (${bits}-bit ${little ? 'little' : 'big'}-endian)`;
  const osAbi = head[7]!;
  const os = osAbi === 0 ? undefined : (ELF_OS_ABIS.get(osAbi) ?? `ELF OS ABI ${osAbi}`);
  return { format: 'ELF', architectures: [arch], ...(os === undefined ? {} : { os }) };
}

const machoCpu = (cpu: number) => MACHO_CPUS.get(cpu) ?? `Mach-O CPU type 0x${cpu.toString(16)}`;

function machoKind(head: Buffer, little: boolean): BinaryKind | undefined {
  const u32 = (at: number) => (little ? head.readUInt32LE(at) : head.readUInt32BE(at));
  // MH_EXECUTE, MH_DYLIB, MH_DYLINKER, MH_BUNDLE.
  if (![2, 6, 7, 8].includes(u32(12))) return undefined;
  return { format: 'Mach-O', architectures: [machoCpu(u32(4))], os: 'darwin' };
}

/** A universal (fat) Mach-O file: its header is big-endian, one entry per architecture. */
function universalKind(head: Buffer, readAt: ReadAt, wide: boolean): BinaryKind | undefined {
  const count = head.readUInt32BE(4);
  // Java class files share the magic; their major version (45 and up) sits where the count is.
  if (count === 0 || count >= 45) return undefined;
  const entry = wide ? 32 : 20;
  const table = 8 + count * entry <= head.length ? head : readAt(0, 8 + count * entry);
  if (table.length < 8 + count * entry) return undefined;
  const architectures = [...new Set(Array.from({ length: count }, (_, i) => machoCpu(table.readUInt32BE(8 + i * entry))))];
  return { format: 'Mach-O', architectures, os: 'darwin' };
}

function peKind(head: Buffer, readAt: ReadAt): BinaryKind | undefined {
  if (head.length < 0x40) return undefined;
  const at = head.readUInt32LE(0x3c);
  // Signature, COFF header (20 bytes), then the optional header up to the CLR data directory.
  const need = 24 + 112 + 15 * 8;
  const pe = at + need <= head.length ? head.subarray(at, at + need) : readAt(at, need);
  if (pe.length < 24 + 2 || pe.readUInt32BE(0) !== 0x50450000) return undefined;
  const optional = pe.subarray(24);
  const magic = optional.readUInt16LE(0);
  if (magic !== 0x10b && magic !== 0x20b) return undefined;
  if (optional.length >= 70) {
    // EFI applications, boot and runtime drivers, ROMs run under firmware, not the image's OS.
    const subsystem = optional.readUInt16LE(68);
    if (subsystem >= 10 && subsystem <= 13) return undefined;
  }
  // A CLR header (data directory 14) makes a .NET assembly, run by a runtime on any platform.
  const clr = (magic === 0x10b ? 96 : 112) + 14 * 8;
  if (optional.length >= clr + 8 && optional.readUInt32LE(clr + 4) > 0) return undefined;
  const machine = pe.readUInt16LE(4);
  return { format: 'PE', architectures: [PE_MACHINES.get(machine) ?? `PE machine 0x${machine.toString(16)}`], os: 'windows' };
}
