// One Mosquitto launcher for the interop tests and the benchmarks.
export { startMosquitto, type MosquittoBroker as Mosquitto } from '../../bench/mosquitto';
