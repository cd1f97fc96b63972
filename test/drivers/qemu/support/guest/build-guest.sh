#!/bin/sh
# Builds a tiny guest for the quiesce tests into OUT (cached: nothing is done when OUT
# already holds it): Debian's cloud kernel, busybox-static and qemu-guest-agent are
# fetched with `apt-get download` and unpacked with `dpkg-deb -x` (nothing is installed
# on the host); an initramfs loads the virtio modules, mounts /dev/vda at /mnt/data,
# starts qemu-ga on the virtio-serial port and keeps appending lines to /mnt/data/log
# (sync after each), so an unquiesced snapshot catches the filesystem mid-write.
# With a NIC (virtio-net, user mode) it configures eth0 as slirp's 10.0.2.15 and, when the
# kernel command line has snapvirt.fetch=URL, prints "FETCHED:<body>" on the console
# (and "MAC:<address>" of eth0).
set -eu
OUT=$1
[ -f "$OUT/vmlinuz" ] && [ -f "$OUT/initrd.gz" ] && exit 0
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
KPKG=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
apt-get download -q "$KPKG" busybox-static qemu-guest-agent >/dev/null 2>&1
for deb in *.deb; do dpkg-deb -x "$deb" x; done
R=$WORK/root
mkdir -p "$R/bin" "$R/sbin" "$R/dev" "$R/proc" "$R/sys" "$R/tmp" "$R/mnt/data" "$R/mods" "$R/var/run" "$R/etc"
cp x/bin/busybox "$R/bin/busybox"
cp x/usr/sbin/qemu-ga "$R/sbin/qemu-ga"
# qemu-ga's shared libraries, from the host (same Debian release).
ldd x/usr/sbin/qemu-ga | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | while read -r lib; do
  mkdir -p "$R$(dirname "$lib")"; cp -L "$lib" "$R$lib"
done
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk virtio_console failover net_failover virtio_net; do
  f=$(find x/lib/modules -name "$m.ko*" | head -n 1)
  case "$f" in
    *.xz) xz -dc "$f" > "$R/mods/$m.ko" ;;
    *) cp "$f" "$R/mods/$m.ko" ;;
  esac
done
cat > "$R/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk virtio_console failover net_failover virtio_net; do
  insmod /mods/$m.ko 2>/dev/null
done
for i in $(seq 100); do [ -b /dev/vda ] && ls /dev/vport*p1 >/dev/null 2>&1 && break; sleep 0.05; done
mount -t ext4 /dev/vda /mnt/data
/sbin/qemu-ga -m virtio-serial -p $(ls /dev/vport*p1 | head -n 1) -t /tmp -f /tmp/qga.pid -d
echo GUEST-READY
if [ -e /sys/class/net/eth0 ]; then
  ifconfig lo 127.0.0.1 up
  ifconfig eth0 10.0.2.15 netmask 255.255.255.0 up
  route add default gw 10.0.2.2
  echo "MAC:$(cat /sys/class/net/eth0/address)"
  for arg in $(cat /proc/cmdline); do
    # (busybox-static 1.35 wget crashes with -T)
    case "$arg" in snapvirt.fetch=*) echo "FETCHED:$(wget -q -O - "${arg#snapvirt.fetch=}")" ;; esac
  done
fi
n=0
while true; do n=$((n + 1)); echo "line $n" >> /mnt/data/log; sync; sleep 0.05; done
INIT
chmod 755 "$R/init"
mkdir -p "$OUT"
(cd "$R" && find . | "$WORK/x/bin/busybox" cpio -o -H newc 2>/dev/null | gzip -1) > "$OUT/initrd.gz.tmp"
cp x/boot/vmlinuz-* "$OUT/vmlinuz"
mv "$OUT/initrd.gz.tmp" "$OUT/initrd.gz"
