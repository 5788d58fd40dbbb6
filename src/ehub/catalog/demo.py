"""Demo products for the demo merchants, created idempotently through the catalog services.

``seed(orgs_by_key)`` takes the organizations of ``web.demo`` by key (``durian``, ``batik``,
``nest``) and gives each four active products with real HS 2022 codes, titles and descriptions
in English, Malay and Chinese, SKUs with MYR prices and valid EAN-13 barcodes (GS1 Malaysia
prefix 955, fictitious company numbers), and a generated picture: a coloured tile with the
product's initial, so the storefront has images without shipping photos. A product whose
first SKU code already exists in the merchant's catalog is left as it is.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from django.db import transaction
from PIL import Image, ImageDraw, ImageFont
from stdnum import ean

from ehub.core.context import Context

from . import domain
from .models import Sku, Stock
from .services import inventory
from .services import products as services


@dataclass(frozen=True)
class DemoSku:
    code: str
    price: str
    variant: dict[str, str]
    labels: dict[str, str]
    net_weight_g: int


@dataclass(frozen=True)
class DemoProduct:
    org: str
    colour: str
    hs_code: str
    gcode: str
    brand: str
    texts: dict[str, tuple[str, str]]  # language -> (title, description)
    skus: tuple[DemoSku, ...]
    net_weight_g: int
    gross_weight_g: int


def _sku(code, price, size_en, size_ms, size_zh, grams):
    return DemoSku(
        code, price, {"size": size_en}, {"en": size_en, "ms": size_ms, "zh-hans": size_zh}, grams
    )


PRODUCTS: tuple[DemoProduct, ...] = (
    DemoProduct(
        "durian",
        "#c9a227",
        "081190",
        "0811909000",
        "Raja Musang King",
        {
            "en": (
                "Musang King durian, frozen whole fruit",
                "Tree-ripened Musang King from Raub, Pahang, flash-frozen within hours of falling "
                "so the golden flesh keeps its bitter-sweet, custard-like taste. Thaw in the "
                "fridge for six hours before opening.",
            ),
            "ms": (
                "Durian Musang King, sebiji beku",
                "Musang King masak pokok dari Raub, Pahang, dibekukan segera selepas gugur supaya "
                "isi kuningnya kekal lemak manis dan sedikit pahit. Cairkan dalam peti sejuk "
                "selama enam jam sebelum dibuka.",
            ),
            "zh-hans": (
                "猫山王榴莲 整颗冷冻",
                "来自彭亨州劳勿的树上熟猫山王榴莲，落果后数小时内急冻，金黄果肉保留甘苦浓郁、"
                "如奶油般的口感。开壳前请放冰箱冷藏解冻六小时。",
            ),
        },
        (
            _sku(
                "RMK-MK-1600",
                "168.00",
                "1 fruit, about 1.6 kg",
                "1 biji, kira-kira 1.6 kg",
                "1颗，约1.6公斤",
                1600,
            ),
            _sku(
                "RMK-MK-2X1600",
                "320.00",
                "2 fruits, about 3.2 kg",
                "2 biji, kira-kira 3.2 kg",
                "2颗，约3.2公斤",
                3200,
            ),
        ),
        1600,
        2100,
    ),
    DemoProduct(
        "durian",
        "#8a6d1d",
        "200799",
        "2007999000",
        "Raja Musang King",
        {
            "en": (
                "Durian paste, 100% Musang King",
                "Pure Musang King pulp cooked slowly with a little sugar into a smooth paste for "
                "cakes, crêpes and ice cream. Keep frozen.",
            ),
            "ms": (
                "Pes durian, 100% Musang King",
                "Isi Musang King tulen dimasak perlahan dengan sedikit gula menjadi pes lembut "
                "untuk kek, krep dan aiskrim. Simpan beku.",
            ),
            "zh-hans": (
                "猫山王榴莲酱（100%果肉）",
                "纯猫山王果肉加少许糖慢火熬成细滑果酱，适合做蛋糕、可丽饼和冰淇淋。请冷冻保存。",
            ),
        },
        (_sku("RMK-PASTE-500", "78.00", "500 g tub", "Bekas 500 g", "500克盒装", 500),),
        500,
        600,
    ),
    DemoProduct(
        "durian",
        "#e0b84c",
        "081340",
        "0813409000",
        "Raja Musang King",
        {
            "en": (
                "Freeze-dried durian",
                "Crunchy pieces of D24 durian, freeze-dried without oil or sugar. A light snack "
                "that keeps the aroma; no fridge needed.",
            ),
            "ms": (
                "Durian kering beku",
                "Kepingan durian D24 yang rangup, dikering beku tanpa minyak atau gula. Snek "
                "ringan yang mengekalkan aroma; tidak perlu peti sejuk.",
            ),
            "zh-hans": (
                "冻干榴莲",
                "D24榴莲冻干脆片，不加油不加糖。保留榴莲香气的轻零食，无需冷藏。",
            ),
        },
        (
            _sku("RMK-FD-50", "29.90", "50 g bag", "Beg 50 g", "50克袋装", 50),
            _sku("RMK-FD-3X50", "79.90", "3 bags of 50 g", "3 beg 50 g", "50克×3袋", 150),
        ),
        50,
        70,
    ),
    DemoProduct(
        "durian",
        "#6b4f2a",
        "210112",
        "2101120000",
        "Raja Musang King",
        {
            "en": (
                "Durian white coffee 3-in-1",
                "Ipoh-style white coffee, roasted in palm-oil margarine, with creamer, sugar and "
                "a touch of durian. 15 sachets of 35 g.",
            ),
            "ms": (
                "Kopi putih durian 3 dalam 1",
                "Kopi putih gaya Ipoh, dipanggang dengan marjerin sawit, bersama krimer, gula dan "
                "sedikit durian. 15 paket 35 g.",
            ),
            "zh-hans": (
                "榴莲白咖啡三合一",
                "怡保风味白咖啡，以棕榈油人造黄油烘焙，加入奶精、糖和一点榴莲香。每盒15包×35克。",
            ),
        },
        (_sku("RMK-WC-15", "24.50", "Box of 15 sachets", "Kotak 15 paket", "15包/盒", 525),),
        525,
        600,
    ),
    DemoProduct(
        "batik",
        "#1f6f8b",
        "621410",
        "6214100000",
        "Rumah Batik Terengganu",
        {
            "en": (
                "Hand-drawn silk batik scarf",
                "Crêpe silk scarf hand-drawn with canting and wax in Kuala Terengganu, with "
                "hibiscus and fern motifs. Every piece is unique. 180 × 50 cm.",
            ),
            "ms": (
                "Selendang sutera batik lukis tangan",
                "Selendang sutera krep dilukis dengan canting dan lilin di Kuala Terengganu, "
                "bermotif bunga raya dan pucuk paku. Setiap helai unik. 180 × 50 cm.",
            ),
            "zh-hans": (
                "手绘真丝蜡染丝巾",
                "登嘉楼匠人以蜡笔和蜡手绘的绉纱真丝丝巾，大红花与蕨叶图案，每条独一无二。180×50厘米。",
            ),
        },
        (_sku("RBT-SCARF-180", "189.00", "180 × 50 cm", "180 × 50 sm", "180×50厘米", 60),),
        60,
        150,
    ),
    DemoProduct(
        "batik",
        "#a23b72",
        "620452",
        "",
        "Rumah Batik Terengganu",
        {
            "en": (
                "Cotton batik sarong",
                "Block-printed cotton sarong in the east-coast style, 2 m long, sewn into a "
                "tube. Soft after the first wash.",
            ),
            "ms": (
                "Kain sarung batik kapas",
                "Kain sarung kapas batik cap gaya pantai timur, panjang 2 m, dijahit bersambung. "
                "Lembut selepas basuhan pertama.",
            ),
            "zh-hans": (
                "纯棉蜡染纱笼",
                "东海岸风格的纯棉印章蜡染纱笼，长2米，缝成筒状。首次洗涤后更柔软。",
            ),
        },
        (_sku("RBT-SARONG-200", "59.00", "2 m", "2 m", "2米", 400),),
        400,
        480,
    ),
    DemoProduct(
        "batik",
        "#2e8b57",
        "620520",
        "6205200000",
        "Rumah Batik Terengganu",
        {
            "en": (
                "Men's cotton batik shirt, short sleeves",
                "Regular-fit shirt of batik-printed cotton poplin with coconut-shell buttons.",
            ),
            "ms": (
                "Kemeja batik kapas lelaki, lengan pendek",
                "Kemeja potongan biasa daripada poplin kapas bercorak batik dengan butang "
                "tempurung kelapa.",
            ),
            "zh-hans": (
                "男士纯棉蜡染短袖衬衫",
                "蜡染印花纯棉府绸常规版型衬衫，椰壳纽扣。",
            ),
        },
        (
            _sku("RBT-SHIRT-M", "129.00", "M", "M", "M码", 250),
            _sku("RBT-SHIRT-L", "129.00", "L", "L", "L码", 270),
            _sku("RBT-SHIRT-XL", "135.00", "XL", "XL", "XL码", 290),
        ),
        250,
        320,
    ),
    DemoProduct(
        "batik",
        "#5b4b8a",
        "520852",
        "5208520000",
        "Rumah Batik Terengganu",
        {
            "en": (
                "Batik cotton fabric by the metre",
                "Printed cotton, 115 cm wide, 120 g/m², for sewing dresses and baju kurung.",
            ),
            "ms": (
                "Kain batik kapas semeter",
                "Kapas bercetak, lebar 115 cm, 120 g/m², untuk menjahit gaun dan baju kurung.",
            ),
            "zh-hans": (
                "纯棉蜡染布（按米）",
                "印花棉布，幅宽115厘米，每平方米120克，适合缝制连衣裙和马来传统服装。",
            ),
        },
        (_sku("RBT-FABRIC-1M", "35.00", "1 metre", "1 meter", "1米", 140),),
        140,
        160,
    ),
    DemoProduct(
        "nest",
        "#d8c3a5",
        "041090",
        "0410902100",
        "Sarang Emas",
        {
            "en": (
                "Dried edible bird's nest, cleaned",
                "Swiftlet nests from house farms in Sarawak, hand-cleaned and dried. Soak for "
                "four hours, then double-boil with rock sugar.",
            ),
            "ms": (
                "Sarang burung walit kering, bersih",
                "Sarang walit dari rumah burung di Sarawak, dibersihkan dengan tangan dan "
                "dikeringkan. Rendam empat jam, kemudian tim dengan gula batu.",
            ),
            "zh-hans": (
                "干燕窝（净燕盏）",
                "来自砂拉越屋燕的燕盏，人工挑毛后干燥。浸泡四小时后加冰糖隔水炖。",
            ),
        },
        (
            _sku("SE-NEST-50", "398.00", "50 g box", "Kotak 50 g", "50克盒装", 50),
            _sku("SE-NEST-100", "768.00", "100 g box", "Kotak 100 g", "100克盒装", 100),
        ),
        50,
        180,
    ),
    DemoProduct(
        "nest",
        "#b5838d",
        "220299",
        "",
        "Sarang Emas",
        {
            "en": (
                "Ready-to-drink bird's nest with rock sugar",
                "Bird's nest double-boiled with rock sugar, bottled and ready to drink chilled. "
                "Six 70 ml bottles in a gift box.",
            ),
            "ms": (
                "Minuman sarang burung dengan gula batu",
                "Sarang burung ditim dengan gula batu, dibotolkan dan sedia diminum sejuk. Enam "
                "botol 70 ml dalam kotak hadiah.",
            ),
            "zh-hans": (
                "冰糖即食燕窝",
                "燕窝以冰糖隔水炖制后装瓶，冷藏即饮。礼盒装，每盒6瓶×70毫升。",
            ),
        },
        (_sku("SE-RTD-6X70", "138.00", "6 × 70 ml", "6 × 70 ml", "6瓶×70毫升", 420),),
        420,
        900,
    ),
    DemoProduct(
        "nest",
        "#e9a03b",
        "040900",
        "",
        "Sarang Emas",
        {
            "en": (
                "Kelulut stingless-bee honey",
                "Raw honey of stingless bees from Borneo's forests: tangy, thin and rich in "
                "antioxidants. Glass jar of 250 g.",
            ),
            "ms": (
                "Madu kelulut",
                "Madu mentah lebah kelulut dari hutan Borneo: masam manis, cair dan kaya "
                "antioksidan. Balang kaca 250 g.",
            ),
            "zh-hans": (
                "无刺蜂蜂蜜",
                "婆罗洲森林无刺蜂的生蜂蜜，酸甜稀薄，富含抗氧化物。250克玻璃瓶装。",
            ),
        },
        (_sku("SE-HONEY-250", "89.00", "250 g jar", "Balang 250 g", "250克瓶装", 250),),
        250,
        480,
    ),
    DemoProduct(
        "nest",
        "#7d5a50",
        "210690",
        "",
        "Sarang Emas",
        {
            "en": (
                "Bird's nest and ginseng drink mix",
                "Instant powder of bird's nest, American ginseng and red dates; stir into warm "
                "water. 10 sachets.",
            ),
            "ms": (
                "Campuran minuman sarang burung dan ginseng",
                "Serbuk segera sarang burung, ginseng Amerika dan kurma merah; bancuh dengan air "
                "suam. 10 paket.",
            ),
            "zh-hans": (
                "燕窝花旗参冲饮",
                "燕窝、花旗参与红枣速溶粉，温水冲泡即可。每盒10包。",
            ),
        },
        (_sku("SE-MIX-10", "68.00", "Box of 10 sachets", "Kotak 10 paket", "10包/盒", 200),),
        200,
        260,
    ),
)


def barcode_for(index: int) -> str:
    """A valid EAN-13 under Malaysia's GS1 prefix 955 (fictitious company 12340)."""
    body = f"95512340{index:04d}"
    return body + ean.calc_check_digit(body)


def tile(initial: str, colour: str, size: int = 600) -> bytes:
    """A square PNG of ``colour`` with ``initial`` in white, centred."""
    image = Image.new("RGB", (size, size), colour)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=size // 2)
    draw.text((size / 2, size / 2), initial, fill="white", font=font, anchor="mm")
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def seed(orgs_by_key: dict) -> int:
    """Create the demo products that are missing; returns how many were created."""
    created = 0
    barcode_index = 0
    with transaction.atomic():
        for item in PRODUCTS:
            org = orgs_by_key.get(item.org)
            if org is None:
                continue
            ctx = Context(user=None, org=org, roles=frozenset({"system"}), via="cli")
            sku_inputs = []
            for sku in item.skus:
                barcode_index += 1
                sku_inputs.append(
                    services.SkuInput(
                        code=sku.code,
                        price_myr=sku.price,
                        variant=sku.variant,
                        variant_labels=sku.labels,
                        barcode=barcode_for(barcode_index),
                        net_weight_g=sku.net_weight_g,
                    )
                )
            if Sku.objects.filter(org=org, code=item.skus[0].code).exists():
                continue
            product = services.create_product(
                ctx,
                services.ProductInput(
                    translations={
                        lang: domain.Text(title, description)
                        for lang, (title, description) in item.texts.items()
                    },
                    brand=item.brand,
                    origin_country="MY",
                    hs_code=item.hs_code,
                    gcode=item.gcode,
                    net_weight_g=item.net_weight_g,
                    gross_weight_g=item.gross_weight_g,
                ),
                sku_inputs,
            )
            title = item.texts["en"][0]
            services.add_image(
                ctx, product.public_id, tile(title[0], item.colour), "demo.png", title
            )
            if org.status == "active":
                services.publish(ctx, product.public_id)
            created += 1
        _stock_demo_skus(orgs_by_key.get("hub"))
    return created


# Units of each demo SKU in the hub, so the storefront shows them in stock.
DEMO_STOCK = 120


def _stock_demo_skus(hub) -> None:
    """Give every demo SKU stock at the demo hub, once (an adjustment, as merchants do today)."""
    if hub is None:
        return
    codes = [sku.code for item in PRODUCTS for sku in item.skus]
    stocked = set(
        Stock.objects.filter(hub=hub, sku__code__in=codes).values_list("sku_id", flat=True)
    )
    for sku in Sku.objects.filter(code__in=codes).select_related("org"):
        if sku.pk in stocked:
            continue
        ctx = Context(user=None, org=sku.org, roles=frozenset({"system"}), via="cli")
        inventory.adjust(ctx, sku, hub, DEMO_STOCK, note="demo stock")
