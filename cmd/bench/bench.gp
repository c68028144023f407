# SPDX-License-Identifier: Apache-2.0 OR MIT
# Plots the size series of dropipc-bench --data FILE:
#   gnuplot -e "data='bench.dat'; out='bench.png'" cmd/bench/bench.gp
if (!exists("data")) data = 'bench.dat'
if (!exists("out")) out = 'bench.png'
set terminal pngcairo size 800,520 font ",10" noenhanced
set output out
set title "Warm handshake: time per round trip against payload size (medians, one run)"
set xlabel "payload (protobuf bytes)"
set ylabel "microseconds per round trip"
set logscale xy
set format x "%.0s%cB"
set grid
set key top left
plot data using 1:4 with linespoints title "gob (Drop's ipc)" lw 2 pt 7, \
     data using 1:2 with linespoints title "dropipc" lw 2 pt 5, \
     data using 1:3 with linespoints title "floor (write/read + sendmsg)" lw 2 pt 9
