"""Seed material for the synthetic catalogue: a REES46-like taxonomy and real-looking brands.

Each taxonomy line is ``code median_price sigma weight``: the median of the category's
lognormal price, its log-scale spread, and its share of traffic before normalisation.
Weights follow the November file's shape: electronics and appliances dominate.
"""

from __future__ import annotations

TAXONOMY = """
electronics.smartphone 250 0.75 300
electronics.audio.headphone 60 0.9 40
electronics.video.tv 420 0.6 28
electronics.clocks 140 0.9 30
electronics.tablet 260 0.6 9
electronics.audio.subwoofer 130 0.6 5
electronics.audio.acoustic 90 0.8 4
electronics.camera.photo 520 0.7 3
electronics.camera.video 330 0.6 2
electronics.telephone 30 0.6 2
electronics.video.projector 380 0.6 1
electronics.audio.microphone 45 0.8 1
electronics.audio.amplifier 210 0.7 1
electronics.audio.dictaphone 70 0.5 1
electronics.audio.piano 350 0.6 1
appliances.kitchen.washer 330 0.45 30
appliances.kitchen.refrigerators 520 0.5 28
appliances.environment.vacuum 140 0.7 22
appliances.environment.water_heater 120 0.6 14
appliances.environment.air_heater 60 0.7 16
appliances.environment.air_conditioner 420 0.5 8
appliances.environment.fan 35 0.6 3
appliances.environment.climate 90 0.6 2
appliances.kitchen.microwave 90 0.5 8
appliances.kitchen.kettle 30 0.6 7
appliances.kitchen.blender 45 0.7 6
appliances.kitchen.oven 380 0.5 5
appliances.kitchen.hob 260 0.6 5
appliances.kitchen.hood 200 0.6 5
appliances.kitchen.dishwasher 400 0.4 5
appliances.kitchen.coffee_machine 280 0.8 4
appliances.kitchen.mixer 40 0.6 4
appliances.kitchen.meat_grinder 80 0.5 5
appliances.kitchen.juicer 60 0.6 2
appliances.kitchen.toster 30 0.5 2
appliances.kitchen.grill 70 0.6 3
appliances.kitchen.steam_cooker 50 0.5 1
appliances.kitchen.fryer 75 0.5 1
appliances.kitchen.coffee_grinder 30 0.5 1
appliances.kitchen.multicooker 80 0.5 3
appliances.iron 45 0.6 6
appliances.personal.hair_cutter 35 0.7 4
appliances.personal.massager 60 0.8 2
appliances.personal.scales 25 0.5 2
appliances.sewing_machine 170 0.6 2
appliances.ironing_board 35 0.4 1
computers.notebook 620 0.55 35
computers.desktop 450 0.7 12
computers.peripherals.printer 180 0.7 4
computers.peripherals.monitor 210 0.6 4
computers.peripherals.mouse 18 0.8 3
computers.peripherals.keyboard 25 0.8 2
computers.peripherals.camera 40 0.6 1
computers.components.videocards 330 0.7 4
computers.components.cpu 230 0.7 2
computers.components.motherboard 130 0.6 2
computers.components.memory 55 0.6 2
computers.components.hdd 70 0.7 2
computers.components.power_supply 60 0.5 1
computers.components.cooler 25 0.6 1
computers.network.router 45 0.7 2
computers.ebooks 120 0.5 1
computers.gaming 350 0.5 2
apparel.shoes 70 0.6 14
apparel.shoes.keds 75 0.6 12
apparel.shoes.sandals 40 0.5 2
apparel.shoes.slipons 45 0.5 2
apparel.shoes.ballet_shoes 40 0.5 1
apparel.shoes.step_ins 35 0.5 1
apparel.shoes.espadrilles 35 0.5 1
apparel.trousers 45 0.5 3
apparel.jeans 55 0.5 3
apparel.tshirt 20 0.6 3
apparel.shirt 30 0.5 2
apparel.jacket 90 0.6 3
apparel.dress 50 0.6 2
apparel.skirt 35 0.5 1
apparel.sock 8 0.5 1
apparel.underwear 15 0.5 1
apparel.costume 110 0.6 1
apparel.belt 25 0.5 1
apparel.scarf 20 0.5 1
apparel.glove 20 0.5 1
furniture.living_room.sofa 540 0.6 6
furniture.living_room.chair 120 0.7 4
furniture.living_room.cabinet 210 0.6 3
furniture.bedroom.bed 330 0.6 4
furniture.bedroom.pillow 20 0.6 2
furniture.bedroom.blanket 35 0.6 2
furniture.kitchen.table 150 0.6 6
furniture.kitchen.chair 60 0.6 3
furniture.bathroom.bath 260 0.6 1
furniture.bathroom.toilet 180 0.5 2
furniture.universal.light 40 0.8 2
kids.toys 25 0.9 5
kids.carriage 280 0.5 3
kids.skates 60 0.5 3
kids.swing 70 0.5 1
kids.dolls 20 0.7 2
kids.fmcg.diapers 25 0.4 2
kids.bottles 10 0.5 1
auto.accessories.player 70 0.6 4
auto.accessories.videoregister 80 0.6 3
auto.accessories.compressor 40 0.5 2
auto.accessories.alarm 90 0.6 2
auto.accessories.radar 90 0.5 1
auto.accessories.parktronic 45 0.5 1
construction.tools.drill 90 0.7 4
construction.tools.saw 110 0.7 2
construction.tools.welding 140 0.6 2
construction.tools.generator 330 0.6 1
construction.tools.pump 130 0.7 3
construction.tools.light 25 0.6 1
construction.components.faucet 60 0.6 1
sport.bicycle 270 0.6 4
sport.tennis 40 0.6 1
sport.trainer 330 0.6 1
sport.ski 180 0.5 1
sport.snowboard 220 0.5 1
accessories.bag 45 0.7 2
accessories.wallet 25 0.6 1
accessories.umbrella 15 0.5 1
medicine.tools.tonometer 45 0.4 1
country_yard.lawn_mower 210 0.6 1
country_yard.cultivator 330 0.5 1
stationery.cartrige 30 0.5 1
medicine 20 0.6 1
stationery 10 0.7 1
country_yard 60 0.8 1
"""

#: Groups for categories without a category_code (about a third of the real rows): the
#: median price and spread of their products, and the group's share of those categories.
UNCODED_GROUPS = (
    ("cosmetics", 20, 0.8, 0.20),
    ("apparel", 45, 0.6, 0.15),
    ("kids", 25, 0.8, 0.10),
    ("construction", 60, 0.9, 0.10),
    ("sport", 70, 0.8, 0.05),
    ("accessories", 30, 0.7, 0.05),
    ("auto", 60, 0.8, 0.15),
    ("furniture", 120, 0.8, 0.10),
    ("appliances", 110, 0.8, 0.05),
    ("electronics", 80, 0.9, 0.05),
)

#: Real brand names of the November file, by the top level they mostly sell in.
BRANDS = {
    "electronics": "samsung apple xiaomi huawei oppo nokia sony lg honor meizu vivo realme "
    "jbl sennheiser pioneer kenwood panasonic sharp toshiba philips canon nikon garmin casio "
    "fossil tissot swatch haier hisense tcl thomson bbk supra harper marshall defender sven",
    "appliances": "bosch indesit beko haier elenberg redmond polaris tefal vitek scarlett braun "
    "rowenta artel midea gorenje electrolux whirlpool candy atlant hotpoint-ariston delonghi "
    "krups moulinex zanussi liebherr ariston thermex ballu timberk dyson karcher kitfort "
    "smeg siemens neff hansa vestfrost oasis polaris-pro",
    "computers": "lenovo acer asus hp dell msi gigabyte intel amd kingston seagate wd logitech "
    "a4tech tp-link d-link zyxel epson brother xerox microsoft benq aoc viewsonic corsair "
    "hyperx razer crucial transcend pocketbook",
    "apparel": "nike adidas puma reebok asics new-balance skechers crocs converse vans "
    "lacoste tommy-hilfiger levis wrangler lee calvin-klein guess mango respect baden "
    "sela ecco geox",
    "furniture": "ikea askona ormatek sv brw mebelson stolline hoff viking leo lucente "
    "kalorik",
    "kids": "lego hasbro mattel chicco peg-perego cybex tutis happy-baby pampers huggies "
    "stels novatrack",
    "auto": "cordiant nokian michelin pirelli continental bridgestone yokohama gran-stone "
    "pulser xiaomi-70mai neoline sho-me starline pandora",
    "construction": "makita dewalt metabo hitachi zubr interskol stavr patriot champion "
    "grohe hansgrohe",
    "sport": "stels forward merida cube trek wilson head atemi salomon burton nordway",
    "accessories": "samsonite wenger tommy-bag fabretti",
    "medicine": "omron and microlife",
    "stationery": "hp-ink canon-ink brauberg",
    "country_yard": "husqvarna stihl patriot-garden",
    "cosmetics": "shiseido loreal nivea garnier maybelline max-factor estel kapous "
    "vichy bioderma la-roche-posay clinique",
}

#: Syllables for the synthetic long tail of brand names (lower case, like the real file).
SYLLABLES = (
    "ar bel cor da el fin gar hol in ka lor mar nel or pra ri sol tar ul vis zen ko "
    "ber tek lux mak ron sto vel dor quin tra ges nor fal wen rix oma ped sun alt "
    "vio kra bri del fro gal hex ion jet kel lum mod nov pix qua ret sta tor uni vox"
).split()
